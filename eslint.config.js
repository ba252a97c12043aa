// ESLint flat config: `npm run lint` (the first step of `npm test`), run with --max-warnings 0.
// Every rule is an error or off: a warning nobody has to act on is one nobody reads.
// eslint-plugin-security's recommended set is on, its warnings raised to errors in src/, with two
// exceptions said where they are set: object injection (off) and fs paths (off outside the library).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import security from 'eslint-plugin-security';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Names of values that must be compared with crypto.timingSafeEqual, never with ===/!==.
const SENSITIVE_NAME =
  '/(digest|signature|secret|hmac|^mac$|mac$|hash|^pay$|password|apikey|^key$|keyBytes|claimed)/i';
// Comparisons against a literal, undefined/null or a typeof/length check reveal nothing secret.
const NOT_A_PRESENCE_OR_TYPE_CHECK = [
  ":not([left.type='Literal'])",
  ":not([right.type='Literal'])",
  ":not([left.type='TemplateLiteral'])",
  ":not([right.type='TemplateLiteral'])",
  ":not([left.type='UnaryExpression'])",
  ":not([right.type='UnaryExpression'])",
  // (esquery reads a missing name as the string 'undefined': match the Identifier itself.)
  ":not([left.type='Identifier'][left.name='undefined'])",
  ":not([right.type='Identifier'][right.name='undefined'])",
].join('');
// A side is sensitive when it is a variable or property with such a name; SCREAMING_CASE
// constants (HS256_SIGNATURE_LENGTH) and .length/.size checks are public facts, not secrets.
const CONSTANT_NAME = '/^[A-Z][A-Z0-9_]*$/';
const sensitiveSide = [
  `[left.type='Identifier'][left.name=${SENSITIVE_NAME}]:not([left.name=${CONSTANT_NAME}])`,
  `[right.type='Identifier'][right.name=${SENSITIVE_NAME}]:not([right.name=${CONSTANT_NAME}])`,
  `[left.type='MemberExpression'][left.property.name=${SENSITIVE_NAME}]`,
  `[right.type='MemberExpression'][right.property.name=${SENSITIVE_NAME}]`,
].join(', ');

// Packages the pure core must never import: it runs without Nest (CLI, bench, other frameworks).
const NOT_IN_CORE = [
  {
    group: ['@nestjs/*', 'passport', 'passport-*', 'reflect-metadata', 'rxjs'],
    message: 'src/core/ holds no Nest or Passport import.',
  },
];
// What every core feature may share; anything else in another feature folder is its internals.
const CORE_SHARED = [
  'http/*',
  'options/*',
  'encoding/*',
  'errors.js',
  'failure.js',
  'clock.js',
  'maybe-async.js',
];

export default defineConfig(
  {
    ignores: ['**/dist/**', 'coverage/**', 'node_modules/**', '.soak/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  security.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      // A warning in security's recommended set; an error here. It only sees `if` tests on a few
      // exact names (token, secret, hash...), hence the broader rule for src/ below.
      'security/detect-possible-timing-attacks': 'error',
      // Flags every `object[variable]`, typed keys included (119 hits, none a sink). The real risk,
      // a client naming an inherited member, is handled where clients name keys: Object.hasOwn or a Map.
      'security/detect-object-injection': 'off',
      // Tests, scripts and the bench build patterns from their own strings: off there, errors in src/.
      'security/detect-unsafe-regex': 'off',
      'security/detect-non-literal-regexp': 'off',
      // The library reads no file a request names; the CLI, scripts, bench and tests read the files
      // their user or their own layout names, which is their job.
      'security/detect-non-literal-fs-filename': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // Library code logs through Nest's Logger (context 'Approov'), never the console.
      'no-console': 'error',
      // A ReDoS in src/ is a denial of service from one request. A pattern the heuristic cannot prove
      // linear carries a disable comment saying why it is.
      'security/detect-unsafe-regex': 'error',
      'security/detect-non-literal-regexp': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: `BinaryExpression[operator=/^[!=]==?$/]${NOT_A_PRESENCE_OR_TYPE_CHECK}:matches(${sensitiveSide})`,
          message:
            'Compare digests, signatures and secrets with crypto.timingSafeEqual on equal-length buffers, not ===/!==.',
        },
      ],
    },
  },
  // The house rules of src/ (test/lint/architecture-rules.spec.ts shows each one firing):
  // the core is plain TypeScript, a core feature reaches only the shared core helpers and its own
  // folder (another feature's types excepted), core/check/ alone composes the features, and the
  // Nest layer, cli and testing stay apart.
  {
    files: ['src/core/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...NOT_IN_CORE,
            { group: ['../*'], message: 'src/core/ imports nothing outside it.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...NOT_IN_CORE,
            { group: ['../../*'], message: 'A core feature imports nothing outside src/core/.' },
            {
              // gitignore syntax: a negation cannot re-include a file whose folder is excluded, hence two globs.
              group: ['../*/*', '../*.js', ...CORE_SHARED.map((path) => `!../${path}`)],
              allowTypeImports: true,
              message: `A core feature imports only ${CORE_SHARED.join(', ')}, its own folder, and types of other features.`,
            },
          ],
        },
      ],
    },
  },
  {
    // The check composes the features into one verdict: it may call any of them, nothing outside core.
    files: ['src/core/check/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...NOT_IN_CORE,
            { group: ['../../*'], message: 'src/core/check/ imports nothing outside src/core/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...NOT_IN_CORE,
            {
              group: ['../approov*', '../index.js'],
              message: 'cli/ and testing/ build on the core, not on the Nest layer.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/testing/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...NOT_IN_CORE,
            {
              group: ['../approov*', '../index.js'],
              message: 'cli/ and testing/ build on the core, not on the Nest layer.',
            },
            {
              group: ['../cli/*'],
              message: 'testing/ is a published entry: it must not pull in the CLI.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['./cli/*', './testing/*'],
              message: 'The Nest layer builds on the core only, not on cli/ or testing/.',
            },
            {
              // Optional peers: an app without Passport must load none of it (a static import would).
              group: ['passport', 'passport-*', '@nestjs/passport'],
              message: 'Passport is an optional peer: load it with import() only, when installed.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest } },
  },
);
