// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // examples/ are standalone apps with their own package.json and tsconfig (checked by scripts/example.sh).
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      '.data/**',
      '.matrix/**',
      'coverage/**',
      'examples/**',
      'eslint.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false },
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __filename: 'readonly' },
    },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: [
      'apps/**/*.ts',
      'test/**/*.ts',
      'bench/**/*.ts',
      'scripts/**/*.ts',
      'migrations/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/libs/tenancy/**',
                '@app/tenancy/*',
                '!@app/tenancy/testing',
                '!@app/tenancy/transactional',
                '!@app/tenancy/jobs',
                '!@app/tenancy/microservices',
                '!@app/tenancy/graphql',
              ],
              message:
                'Import the library only through @app/tenancy (or its published subpaths @app/tenancy/testing, @app/tenancy/transactional, @app/tenancy/jobs, @app/tenancy/microservices and @app/tenancy/graphql).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/tenancy/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/apps/**', '@app/dev-postgres'],
              message: 'The library never imports from apps.',
            },
          ],
        },
      ],
    },
  },
);
