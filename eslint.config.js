// ESLint flat config. Besides the usual rules it enforces the layering by runtime (STYLE.md):
// - renderer/ imports only contract/ and its own code: never main/, native/, electron or Node built-ins;
// - only main/electron/ imports 'electron';
// - contract/ imports nothing but its own type files.
import js from '@eslint/js';
import globals from 'globals';
import vue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';
import vueParser from 'vue-eslint-parser';

const nodeBuiltins = ['node:*', 'fs', 'path', 'child_process', 'os', 'net', 'http', 'crypto', 'worker_threads'];

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'native/build/**', 'test-results/**', 'samples/**', 'models/**/*.json'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
  },
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/ban-ts-comment': 'error',
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
    },
  },
  {
    // TypeScript (tsc / vue-tsc) already checks names; ESLint's no-undef does not know DOM/TS-only types.
    files: ['**/*.ts', '**/*.vue'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['renderer/**/*.{ts,vue}'],
    ignores: ['renderer/vite.config.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/**', 'main/*'],
              message: 'Bad layering: the renderer never imports main/ (use the contract).',
            },
            { group: ['**/native/**', 'native/*'], message: 'Bad layering: the renderer never imports native/.' },
            { group: ['electron', 'electron/*'], message: 'Bad layering: only main/electron/ imports electron.' },
            { group: nodeBuiltins, message: 'Bad layering: the renderer runs in a browser: no Node built-ins.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.{js,mjs,ts}', 'scripts/**/*.mjs', 'bin/**/*.js'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', 'electron/*'], message: 'Bad layering: only main/electron/ imports electron.' },
          ],
        },
      ],
    },
  },
  {
    files: ['main/**/*.ts'],
    ignores: ['main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', 'electron/*'], message: 'Bad layering: only main/electron/ imports electron.' },
            { group: ['**/renderer/**'], message: 'Bad layering: the Node side never imports renderer/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['main/electron/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/renderer/**'], message: 'Bad layering: the Node side never imports renderer/.' }] },
      ],
    },
  },
  {
    // A sandboxed preload is CommonJS; under verbatimModuleSyntax it imports with `import x = require()`.
    files: ['main/electron/preload/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./[a-z0-9-]+\\.js$)',
              message: 'The contract imports nothing but its own type files (./name.js).',
            },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
      ],
    },
  },
);
