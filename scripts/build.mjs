// Prebuilds pmctl into dist/ so a call starts node on plain JavaScript instead of compiling
// TypeScript through tsx every time (2-6 s per call on a busy machine). bin/pmctl runs it again
// whenever a source file is newer than dist/.built, so the build can never go stale.
//
// Our own code is bundled; packages stay external (node_modules is resolved as usual). Code split
// at dynamic imports, so a quick command never loads what only `dev` and `worker` need (the
// worker's native bridge, webpack). Each module keeps its own import.meta.url (its source file),
// because paths are resolved from it: the project root (src/paths.ts) and the workflow sources
// that the worker bundles (src/worker/createWorker.ts).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
// Built beside dist/ and swapped in, so a pmctl already running never reads a half-written build.
const out = `${dist}.tmp-${process.pid}`;

const sourceUrlPlugin = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/, namespace: 'file' }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

await build({
  absWorkingDir: root,
  entryPoints: { pmctl: 'src/cli/main.ts' },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [sourceUrlPlugin],
});
await writeFile(`${out}/package.json`, '{ "type": "module" }\n');
// The top-level help, rendered once with every command group loaded (src/cli/main.ts builtTopHelp).
const help = execFileSync(process.execPath, [`${out}/pmctl.js`, '--help'], {
  env: { ...process.env, PMCTL_FULL_HELP: '1' },
  encoding: 'utf8',
});
await writeFile(`${out}/help.txt`, help);
await writeFile(`${out}/.built`, `${new Date().toISOString()}\n`);
const old = `${dist}.old-${process.pid}`;
await rename(dist, old).catch(() => {});
await rename(out, dist);
await rm(old, { recursive: true, force: true });
