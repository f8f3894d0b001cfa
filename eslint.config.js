// Lint rules of the house (CONTRIBUTING.md): type-aware typescript-eslint, no unhandled promises, and
// workflow determinism enforced by imports (workflows/** may import only @temporalio/workflow,
// contracts and pure domain code — never Node built-ins, pg, database or learning modules).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.venv/**', 'coverage/**', 'dist/**', 'dist.*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    // pg rows and JSONB arrive as `any`; the boundaries parse them with zod instead, so the no-unsafe-*
    // family would only demand casts. Everything else of recommendedTypeChecked stays on.
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Activity factories return object literals of closures that never use `this`; passing
      // `acts.someActivity` to a worker or MockActivityEnvironment is how Temporal expects them used.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '.dependency-cruiser.cjs', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins.' })),
            { name: 'pg', message: 'Workflow code never touches the database: call an activity.' },
            {
              name: '@temporalio/activity',
              message: 'Workflows import only @temporalio/workflow (activity types: `import type`).',
            },
          ],
          patterns: [
            {
              group: ['**/src/db/**', '**/src/db'],
              message: 'Workflow code never touches the database: call an activity.',
            },
            {
              group: ['**/src/learning/**', '**/src/learning'],
              message: 'Workflows import contracts and pure domain code only.',
            },
            {
              group: ['**/activities/*', '!**/activities/*'],
              allowTypeImports: true,
              message: 'Import activity types only (import type).',
            },
          ],
        },
      ],
    },
  },
);
