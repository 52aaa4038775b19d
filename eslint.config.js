// @ts-check
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Components meet only through the API: each folder may import only the layers below it. */
const layering = [
  {
    folder: 'src/base',
    forbidden: [
      'api',
      'storage',
      'client',
      'apiserver',
      'controllers',
      'scheduler',
      'kubelet',
      'network',
      'ingress',
      'dashboard',
      'pki',
      'cli',
    ],
  },
  {
    folder: 'src/storage',
    forbidden: [
      'api',
      'client',
      'apiserver',
      'controllers',
      'scheduler',
      'kubelet',
      'network',
      'ingress',
      'dashboard',
      'pki',
      'cli',
    ],
  },
  {
    folder: 'src/api',
    forbidden: [
      'storage',
      'client',
      'apiserver',
      'controllers',
      'scheduler',
      'kubelet',
      'network',
      'ingress',
      'dashboard',
      'pki',
      'cli',
    ],
  },
  {
    folder: 'src/client',
    forbidden: [
      'storage',
      'apiserver',
      'controllers',
      'scheduler',
      'kubelet',
      'network',
      'ingress',
      'dashboard',
      'cli',
    ],
  },
]

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.scratch/', 'src/api/generated/', 'src/dashboard/web/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test runs what test() and describe() return; awaiting them is not required.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      // An async function that never awaits still turns its throws into rejections, which is why we write them.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  ...layering.map(({ folder, forbidden }) => ({
    files: [`${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((f) => ({
            group: [`**/${f}/**`, `**/${f}/index.ts`],
            message: `${folder} sits below ${f}: shared code flows downwards only (DESIGN.md).`,
          })),
        },
      ],
    },
  })),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
)
