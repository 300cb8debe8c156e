// Lint rules: typescript-eslint's recommended set, type-aware where it catches real bugs (floating promises).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-control-regex': 'off',
    },
  },
  // The house's layers, as lint rules (README, Architecture): lower floors never import upper ones.
  {
    files: ['src/types.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['./*', '../*'], message: 'types.ts is the ground floor: it imports nothing of ours.' }] },
      ],
    },
  },
  {
    files: ['src/util/**/*.ts', 'src/errors.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../errors.js', '!../types.js', './*', '!./*.js'],
              message: 'util/ and errors.ts sit on the ground floor: they import only types.ts and errors.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/{iso,rootfs,images,units,qemu,exec,verify,fixture,installer}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/pipeline/*', '**/stages/*', '**/cli/*', '**/cli/**', '**/config/*', '**/build.js', '**/index.js'],
              message: 'Domain folders never import pipeline/, stages/, cli/, config/ or build.ts: pass what they need in.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts', 'src/pipeline/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/stages/*', '**/cli/*', '**/cli/**', '**/build.js', '**/index.js'],
              message: 'config/ and pipeline/ never import stages, the CLI or build.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/stages/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['./*'], message: 'Stages are peers: no stage imports another. Shared code belongs in a domain folder.' },
            { group: ['**/cli/*', '**/cli/**', '**/build.js', '**/index.js'], message: 'Stages never import the CLI or build.ts.' },
          ],
        },
      ],
    },
  },
  {
    // node:test's test() returns a promise the runner tracks itself.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
