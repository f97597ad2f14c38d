// faye ships no type declarations; the tests use its client through `any`.
declare module 'faye'
