// Jest on Node 20 cannot require an ESM-only package (content-disposition 3, which @fastify/static
// requires). Mercurius loads @fastify/static only to serve GraphiQL, which no test serves; this
// stands in for it under Jest and fails loudly if anything tries to use it.
'use strict';
function fastifyStatic() {
  throw new Error(
    '@fastify/static is not available under Jest (see test/support/fastify-static-unavailable.cjs)',
  );
}
module.exports = fastifyStatic;
module.exports.default = fastifyStatic;
module.exports.fastifyStatic = fastifyStatic;
