// The layers of the house (CONTRIBUTING.md), checked on the import graph by `npm run lint` rather
// than by review. Type-only imports count: a contract typed by its implementation still depends on it,
// and a cycle through types still means two modules cannot be read (or changed) one without the other.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'No module reaches itself through its imports: a cycle hides which module owns what.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contracts-import-only-contracts',
      severity: 'error',
      comment: 'Contracts are the lowest layer: every other layer may import them, they import only each other.',
      from: { path: '^src/contracts/' },
      to: { path: '^(src|activities|workflows|scripts|test|worker\\.ts)', pathNot: '^src/contracts/' },
    },
    {
      name: 'domain-imports-only-contracts-and-domain',
      severity: 'error',
      comment: 'Pure domain code sits just above the contracts: it imports contracts and domain, nothing higher.',
      from: { path: '^src/domain/' },
      to: { path: '^(src|activities|workflows|scripts|test|worker\\.ts)', pathNot: '^src/(contracts|domain)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.data|\\.venv|coverage)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
