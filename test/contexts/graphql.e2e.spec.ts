import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  createApproovInstallationKey,
  createApproovSecret,
  createApproovToken,
  signApproovRequest,
} from 'nestjs-approov/testing';
import { logCapture } from '../support/log-capture.js';
import { startGraphQLApp, type GraphQLApp, type GraphQLDriverName } from './apps/graphql-app.js';
import type { AdapterFactory } from '../support/nest-app.js';

// GraphQL over HTTP with the plain ApproovGuard: Apollo on Express and Mercurius on Fastify, each
// with queries and mutations, per resolver and as the global guard.

const DRIVERS: ReadonlyArray<readonly [GraphQLDriverName, string, AdapterFactory]> = [
  ['Apollo', 'Express', () => new ExpressAdapter()],
  ['Mercurius', 'Fastify', () => new FastifyAdapter()],
];

const secret = createApproovSecret();
const token = (claims: Record<string, unknown> = {}, expiresIn = 300) =>
  createApproovToken({ secret, claims: { did: 'device-1', ...claims }, expiresIn });
const forged = createApproovToken({ secret: createApproovSecret(), claims: { did: 'device-1' } });

/** What every GraphQL reject looks like: one error, `Unauthorized`, the code, nothing else. */
function expectRejected(
  answer: Awaited<ReturnType<GraphQLApp['graphql']>>,
  code = 'UNAUTHENTICATED',
) {
  const { body } = answer;
  expect(body.errors).toHaveLength(1);
  const [error] = body.errors!;
  expect(error!.message).toBe(code === 'UNAUTHENTICATED' ? 'Unauthorized' : 'Service Unavailable');
  // Apollo outside production echoes an error's stack: here its one line, with no frame or path.
  const { stacktrace, ...extensions } = error!.extensions ?? {};
  expect(extensions).toEqual({ code });
  if (stacktrace !== undefined) expect(stacktrace).toEqual([`Error: ${error!.message}`]);
  expect(answer.text).not.toMatch(/\bat |node_modules|\.[jt]s:\d|Internal/i);
}

describe.each(DRIVERS)('GraphQL on %s (%s)', (driver, _platform, createAdapter) => {
  describe('per-resolver guard', () => {
    let app: GraphQLApp;
    beforeAll(async () => {
      app = await startGraphQLApp(driver, createAdapter, { secret });
    });
    afterAll(() => app.close());
    beforeEach(() => {
      app.failures.length = 0;
    });

    it('serves a query with a valid token, with its claims', async () => {
      const answer = await app.graphql('{ device }', { 'Approov-Token': token() });
      expect(answer.body).toEqual({ data: { device: 'device-1' } });
      expect(app.failures).toEqual([]);
    });

    it('gives the claims to getApproovClaims(context.req)', async () => {
      const answer = await app.graphql('{ deviceFromContext }', { 'Approov-Token': token() });
      expect(answer.body.data).toEqual({ deviceFromContext: 'device-1' });
    });

    it.each([
      ['missing', {}, 'token_missing'],
      ['forged', { 'Approov-Token': forged }, 'token_signature_invalid'],
      ['expired', { 'Approov-Token': token({}, -60) }, 'token_expired'],
    ] as const)(
      'refuses a %s token with UNAUTHENTICATED and reports why',
      async (_n, headers, code) => {
        const answer = await app.graphql('{ device }', headers);
        expectRejected(answer);
        expect(app.failures.map((f) => [f.code, f.context])).toEqual([[code, 'graphql']]);
      },
    );

    it('reports every reject: a shared root object never marks a request as reported', async () => {
      for (let i = 0; i < 6; i++) expectRejected(await app.graphql('{ device }', {}));
      expect(app.failures).toHaveLength(6);
      const ok = await app.graphql('{ device }', { 'Approov-Token': token() });
      expect(ok.body.data).toEqual({ device: 'device-1' });
    });

    it('logs no ERROR line and no stack for a reject', async () => {
      logCapture.logger.lines.length = 0;
      await app.graphql('{ device }', { 'Approov-Token': forged });
      const errors = logCapture.logger.lines.filter((line) => line.level === 'error');
      expect(errors).toEqual([]);
      const warning = logCapture.logger.lines.find((line) =>
        line.message.includes('token_signature_invalid'),
      );
      expect(warning?.message).toContain('graphql');
    });

    it('leaves an unguarded resolver served, with no claims', async () => {
      const answer = await app.graphql('{ unguardedDevice }', { 'Approov-Token': token() });
      expect(answer.body.data).toEqual({ unguardedDevice: null });
    });

    it('serves a bound mutation only with the bound Authorization header', async () => {
      const auth = 'Bearer session-1';
      const bound = createApproovToken({ secret, bind: auth });
      const ok = await app.graphql('mutation { bound(text: "a") }', {
        'Approov-Token': bound,
        Authorization: auth,
      });
      expect(ok.body.data).toEqual({ bound: 'A' });
      const other = await app.graphql('mutation { bound(text: "a") }', {
        'Approov-Token': bound,
        Authorization: 'Bearer other',
      });
      expectRejected(other);
      expect(app.failures.map((f) => f.code)).toEqual(['binding_mismatch']);
    });

    /** The headers of a POST /graphql carrying `query`, signed as the SDK signs it (body covered). */
    const signedOperation = (query: string) => {
      const { privateKey, ipk } = createApproovInstallationKey();
      const approovToken = token({ ipk });
      const body = JSON.stringify({ query });
      const signature = signApproovRequest({
        method: 'POST',
        url: `${app.baseUrl}/graphql`,
        token: approovToken,
        privateKey,
        body,
        headers: { 'content-type': 'application/json' },
      });
      const headers = {
        'Content-Type': 'application/json',
        'Approov-Token': approovToken,
        ...signature,
      };
      return { body, headers };
    };

    it('serves a signed mutation whose signature covers the HTTP request and its body', async () => {
      app.failures.length = 0;
      const { body, headers } = signedOperation('mutation { signed(text: "a") }');
      const ok = await app.request('POST', '/graphql', headers, body);
      expect(app.failures.map((f) => f.code)).toEqual([]);
      expect(JSON.parse(ok.body)).toEqual({ data: { signed: 'A' } });
      // The same signed request again is a replay.
      const again = await app.request('POST', '/graphql', headers, body);
      expect(JSON.parse(again.body).errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
      // A different body under the same signature fails its Content-Digest.
      const tampered = JSON.stringify({ query: 'mutation { signed(text: "b") }' });
      const bad = await app.request('POST', '/graphql', headers, tampered);
      expect(JSON.parse(bad.body).errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
      expect(app.failures.map((f) => f.code)).toEqual([
        'signature_replayed',
        'content_digest_mismatch',
      ]);
    });

    it('checks a signed request once for all its guarded fields', async () => {
      const { body, headers } = signedOperation(
        'mutation { a: signed(text: "a") b: signed(text: "b") }',
      );
      const answer = await app.request('POST', '/graphql', headers, body);
      expect(JSON.parse(answer.body)).toEqual({ data: { a: 'A', b: 'B' } });
      expect(app.failures).toEqual([]);
    });

    it('refuses an unsigned mutation on a signed resolver', async () => {
      const { ipk } = createApproovInstallationKey();
      const answer = await app.graphql('mutation { signed(text: "a") }', {
        'Approov-Token': token({ ipk }),
      });
      expectRejected(answer);
      expect(app.failures.map((f) => f.code)).toEqual(['install_signature_missing']);
    });
  });

  describe('protectAllRoutes', () => {
    let app: GraphQLApp;
    beforeAll(async () => {
      app = await startGraphQLApp(driver, createAdapter, { secret, protectAllRoutes: true });
    });
    afterAll(() => app.close());

    it('guards a resolver with no guard of its own', async () => {
      expectRejected(await app.graphql('{ unguardedDevice }'));
      const ok = await app.graphql('{ unguardedDevice }', { 'Approov-Token': token() });
      expect(ok.body.data).toEqual({ unguardedDevice: 'device-1' });
    });

    it('serves a @SkipApproov() resolver without a token', async () => {
      expect((await app.graphql('{ skipped }')).body.data).toEqual({ skipped: 'skipped' });
    });
  });
});

describe('Apollo in development mode', () => {
  const nodeEnv = process.env.NODE_ENV;
  let app: GraphQLApp;
  beforeAll(async () => {
    process.env.NODE_ENV = 'development'; // Apollo adds stack traces to errors outside production
    app = await startGraphQLApp('Apollo', () => new ExpressAdapter(), { secret });
  });
  afterAll(async () => {
    await app.close();
    process.env.NODE_ENV = nodeEnv;
  });

  it('answers a reject with no stack trace and no internal message', async () => {
    expectRejected(await app.graphql('{ device }', { 'Approov-Token': forged }));
  });
});
