// Lint for the whole repository (npm test runs it): typescript-eslint's recommended rules on the
// TypeScript, syntax-level only (no type information: fast enough for every run).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'device/dist/**', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // Unused bindings prefixed with _ are deliberate (destructuring away a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read JSON answers loosely; production code may not.
    files: ['**/*.test.ts', '**/*.test-helpers.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Browser pages and ThingsBoard widget controllers: plain scripts in the browser.
    files: ['**/page/*.js', 'tenant-sync/src/thingsboard-ui/*.js', 'common/src/auth/page/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        crypto: 'readonly',
        btoa: 'readonly',
        TextEncoder: 'readonly',
        URLSearchParams: 'readonly',
        setTimeout: 'readonly',
        confirm: 'readonly',
        WebSocket: 'readonly',
        Terminal: 'readonly',
        FitAddon: 'readonly',
        ResizeObserver: 'readonly',
        FormData: 'readonly',
        self: 'writable',
        console: 'readonly',
      },
    },
  },
);
