import fc from 'fast-check';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { buildRawRequest, rawRequest } from '../support/http-client.js';
import { ADAPTERS } from '../support/nest-app.js';
import { startTransportApp, type TransportApp } from './apps/transport-app.js';
import { fuzzRuns, fuzzTimeoutMs, reportFuzzCounts } from '../support/fuzz-config.js';
import { applyMutation, mutationArb } from '../support/token-mutants.js';

// Property: random header sets sent on raw loopback sockets never get a 5xx, and a protected
// route answers 2xx only to exactly one token line the test signed (bound to the right values).

const RUNS = fuzzRuns(300);
const secret = createApproovSecret();

/** Tokens this test signed, with the header values each is bound to. */
const signed = new Map<string, readonly string[] | undefined>();

const latin1 = (text: string) => Buffer.from(text, 'latin1').toString('latin1');
const stripOws = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');
const noLineBreaks = (text: string) => latin1(text).replace(/[\r\n]/g, '');

// Bytes a valid header value may hold (RFC 9110 field-vchar: VCHAR and obs-text; not DEL).
const fieldVchar = fc
  .oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
  .map((code) => String.fromCharCode(code));
const authorizationArb = fc.oneof(
  fc.constantFrom('Bearer abc', 'Basic dXNlcjpwYXNz', 'Bearer'),
  fc.string({ unit: fieldVchar, minLength: 1, maxLength: 40 }),
);
const sessionArb = fc.string({ unit: fieldVchar, minLength: 1, maxLength: 20 });
const bindingArb = fc.option(
  fc.oneof(
    authorizationArb.map((auth) => [auth]),
    fc.tuple(authorizationArb, sessionArb).map(([auth, session]) => [auth, session]),
  ),
  { nil: undefined },
);
const validTokenArb = fc.tuple(bindingArb, fc.string({ maxLength: 8 })).map(([bind, did]) => {
  const token = createApproovToken({ secret, bind, claims: { did } });
  signed.set(token, bind);
  return token;
});

const tokenish = fc
  .oneof(
    { arbitrary: validTokenArb, weight: 6 },
    {
      arbitrary: fc
        .tuple(validTokenArb, validTokenArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
        .map(([token, donor, mutations]) =>
          mutations.reduce((current, mutation) => applyMutation(current, mutation, donor), token),
        ),
      weight: 6,
    },
    {
      arbitrary: fc.string({
        unit: fc.oneof(fieldVchar, fc.constantFrom(' ', '\t')),
        maxLength: 200,
      }),
      weight: 4,
    },
    // Control bytes and DEL: Node's parser answers 400 before any app code runs.
    {
      arbitrary: fc.string({
        unit: fc.integer({ min: 0, max: 0xff }).map((code) => String.fromCharCode(code)),
        maxLength: 200,
      }),
      weight: 1,
    },
    {
      arbitrary: fc.integer({ min: 4_000, max: 20_000 }).map((length) => 'A'.repeat(length)),
      weight: 2,
    },
    { arbitrary: validTokenArb.map((token) => `Bearer ${token}`), weight: 2 },
    {
      arbitrary: fc.constantFrom('NO_NETWORK', 'MITM_DETECTED', 'null', 'undefined', '', ' ', '\t'),
      weight: 2,
    },
  )
  .map(noLineBreaks);

// Framing headers (Host, Content-Length, Transfer-Encoding, Connection, Upgrade) are left out: they
// fuzz Node's HTTP parser, not this module, and would stall a request waiting for a body.
const headerNameArb = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'Approov-Token',
      'approov-token',
      'APPROOV-TOKEN',
      'Approov_Token',
      'ApprovToken',
      'Authorization',
      'authorization',
      'SessionId',
      'sessionid',
      'SESSIONID',
      'Approov-TraceID',
      'Cookie',
      'X-Forwarded-For',
      'Accept',
      'Content-Type',
      'Expect',
      'Approov-Token',
    ),
    weight: 10,
  },
  {
    arbitrary: fc.string({
      unit: fc.constantFrom(..."abcxyzAZ09-_!#$%&'*+.^`|~".split('')),
      minLength: 1,
      maxLength: 20,
    }),
    weight: 4,
  },
  // Characters no header name may hold: Node answers 400.
  {
    arbitrary: fc.oneof(
      fc.constant('Approov-Token '),
      fc.string({ unit: fc.constantFrom(...'aZ- ()@é"'.split('')), minLength: 1, maxLength: 20 }),
    ),
    weight: 1,
  },
);
const headerArb = fc.tuple(headerNameArb, tokenish);

const routeArb = fc.oneof(
  {
    arbitrary: fc.constantFrom('/token-check', '/token-binding', '/token-double-binding'),
    weight: 6,
  },
  {
    arbitrary: fc.constantFrom(
      '/hello',
      '/token-check/',
      '/TOKEN-CHECK',
      '/token-check?approov-token=x',
      '/token-binding?Authorization=Bearer%20abc',
      '/nope',
      '//token-check',
      '/token-check%00',
    ),
    weight: 2,
  },
);
const methodArb = fc.oneof(
  { arbitrary: fc.constant('GET'), weight: 6 },
  { arbitrary: fc.constantFrom('POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'), weight: 2 },
);

type FuzzRequest = { clean: boolean; method: string; route: string; headers: [string, string][] };

const randomRequestArb: fc.Arbitrary<FuzzRequest> = fc.record({
  clean: fc.constant(false),
  method: methodArb,
  route: routeArb,
  headers: fc.array(headerArb, { maxLength: 10 }),
});
// Well-formed requests that must be served: the fuzz is not vacuous if these pass.
const cleanRequestArb: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom('/token-check', '/token-binding', '/token-double-binding'),
    authorizationArb,
    sessionArb,
  )
  .map(([route, auth, session]) => {
    const bind =
      route === '/token-binding'
        ? [auth]
        : route === '/token-double-binding'
          ? [auth, session]
          : undefined;
    const token = createApproovToken({ secret, bind });
    signed.set(token, bind);
    const headers: [string, string][] = [['Approov-Token', token]];
    if (bind !== undefined) headers.push(['Authorization', auth]);
    if (bind?.length === 2) headers.push(['SessionId', session]);
    return { clean: true, method: 'GET', route, headers };
  });
const requestArb = fc.oneof(
  { arbitrary: cleanRequestArb, weight: 1 },
  { arbitrary: randomRequestArb, weight: 5 },
);

/** The values of the header lines named `name` (case-insensitive), as Node would parse them. */
const valuesOf = (headers: readonly [string, string][], name: string) =>
  headers.filter(([header]) => header.toLowerCase() === name).map(([, value]) => stripOws(value));

/** Why serving this request (2xx) would be wrong, or null when serving it is allowed. */
function wrongAcceptance(request: FuzzRequest): string | null {
  const path = request.route.split('?')[0]!.toLowerCase().replace(/\/+$/, '');
  if (path === '/hello') return null;
  const tokens = valuesOf(request.headers, 'approov-token');
  if (tokens.length !== 1 || !signed.has(tokens[0]!))
    return 'served without exactly one signed token';
  const bindingHeaders =
    path === '/token-binding'
      ? ['authorization']
      : path === '/token-double-binding'
        ? ['authorization', 'sessionid']
        : [];
  if (bindingHeaders.length === 0) return null;
  const bound = signed.get(tokens[0]!);
  if (bound === undefined) return 'served a binding route with an unbound token';
  const sent = bindingHeaders.map((name) => valuesOf(request.headers, name));
  if (sent.some((values) => values.length !== 1 || values[0]!.length === 0))
    return 'served without each bound header exactly once';
  return sent.map((values) => values[0]).join('') === bound.join('')
    ? null
    : 'served with a binding mismatch';
}

describe.each(ADAPTERS)(
  'fuzz: random header sets against a running %s app',
  (name, createAdapter) => {
    let server: TransportApp;
    const counts: Record<string, number> = {};
    const statuses: Record<string, number> = {};

    beforeAll(async () => {
      server = await startTransportApp(secret, createAdapter);
    });
    afterAll(async () => {
      await server.close();
      reportFuzzCounts(`HTTP headers (${name})`, counts, statuses);
    });

    it(
      'never answers 5xx, and serves a protected route only to a signed, correctly bound token',
      async () => {
        await fc.assert(
          fc.asyncProperty(requestArb, async (request) => {
            counts[request.clean ? 'clean requests' : 'random header sets'] =
              (counts[request.clean ? 'clean requests' : 'random header sets'] ?? 0) + 1;
            const response = await rawRequest(
              server.port,
              buildRawRequest(request.method, request.route, request.headers),
            );
            statuses[`status ${response.status}`] =
              (statuses[`status ${response.status}`] ?? 0) + 1;
            expect(response.status).toBeLessThan(500);
            if (response.status >= 200 && response.status < 300)
              expect(wrongAcceptance(request)).toBeNull();
            if (request.clean) expect(response.status).toBe(200);
          }),
          { numRuns: RUNS },
        );
      },
      fuzzTimeoutMs(RUNS, 50),
    );
  },
);
