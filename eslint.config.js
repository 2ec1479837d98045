// ESLint flat config: TypeScript rules plus the layering rules from DESIGN.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'out/**',
      'dist/**',
      'release/**',
      'scratch/**',
      '.fieldbook-demo/**',
      'test/artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Core is plain Node: it never imports Electron or React, so the CLI, tests and HTTP bridge share it.
    files: ['src-main/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', 'electron/*', 'react', 'react-dom', 'react/*'],
              message: 'src-main/core must stay plain Node.',
            },
          ],
        },
      ],
    },
  },
  {
    // Arrows point down: storage and the base of core (domain.ts, errors.ts) never import ingestion; the
    // types they share are in core/domain.ts. Repeats the core rule (this block replaces it for these files).
    files: ['src-main/core/store/**/*.ts', 'src-main/core/domain.ts', 'src-main/core/errors.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', 'electron/*', 'react', 'react-dom', 'react/*'],
              message: 'src-main/core must stay plain Node.',
            },
            {
              group: ['**/ingest/*', '**/ingest'],
              message: 'store/ may not import ingest/: put shared types in core/domain.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // The renderer talks to the main process only through the contract.
    files: ['src-renderer/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src-main/**', '../../src-main/*', 'electron', 'node:*'],
              message: 'The renderer may only use the FieldbookApi contract.',
            },
          ],
        },
      ],
    },
  },
  {
    // pdf.js is loaded in one place, which puts back the V8 built-ins its polyfills replace (ingest/pdfjs.ts).
    files: ['src-main/**/*.ts', 'test/**/*.ts'],
    ignores: ['src-main/core/ingest/pdfjs.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['pdfjs-dist', 'pdfjs-dist/legacy/build/pdf.mjs', 'pdfjs-dist/legacy/build/pdf.worker.mjs'].map(
            (name) => ({
              name,
              allowTypeImports: true,
              message: 'Load pdf.js with loadPdfjs() from core/ingest/pdfjs.ts.',
            }),
          ),
        },
      ],
    },
  },
);
