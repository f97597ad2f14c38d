// One style for lib/, spec/, conformance/, bench/ and bin/: neostandard (standard's successor,
// as used by fastify and undici) with its TypeScript support. `npm run lint` runs it.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    // The two CLI scripts have no extension, so ESLint would not pick them up by itself.
    files: ['bin/bayeux-server', 'bin/bayeux-conformance'],
    // Installed, built, recorded or generated: nothing here is written by hand.
    ignores: [
      'node_modules/**',
      'dist/**',
      'coverage/**',
      '.tap/**',
      '**/.tmp/**',
      'conformance/traces/**'
    ]
  }),
  {
    name: 'bayeux-server/tuning',
    rules: {
      // `void promise` as a statement is this code base's mark for a promise that is left to run
      // on its own on purpose (the convention typescript-eslint's no-floating-promises knows), and
      // `void object.getter` evaluates a getter for its effect. `void` inside an expression (e.g.
      // `return void f()`) stays an error.
      'no-void': ['error', { allowAsStatement: true }],
      // neostandard only warns about trailing commas in arrays and objects and lets either form
      // pass (neostandard#79); lib/, spec/ and conformance/ have none anywhere, so one style
      // means none, as standard had it.
      '@stylistic/comma-dangle': ['error', 'never']
    }
  },
  {
    name: 'bayeux-server/typescript-style',
    files: ['**/*.ts'],
    rules: {
      // neostandard's `ts` option parses TypeScript but leaves its own syntax unstyled. These are
      // the TypeScript counterparts of standard's semi, comma and spacing rules, in the form
      // lib/, spec/ and conformance/ already follow everywhere: interface and type-literal
      // members end with a newline, or a comma on one line; `a: T` and `Map<K, V>` spaced alike.
      '@stylistic/member-delimiter-style': ['error', {
        multiline: { delimiter: 'none' },
        singleline: { delimiter: 'comma', requireLast: false }
      }],
      '@stylistic/type-annotation-spacing': 'error',
      '@stylistic/type-generic-spacing': 'error'
    }
  }
]
