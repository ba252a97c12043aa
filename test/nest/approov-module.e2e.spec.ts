import { randomBytes } from 'node:crypto';
import type { ApproovFailure } from 'nestjs-approov';
import { approovBindingHash, createApproovToken } from 'nestjs-approov/testing';
import { jsonSegment, rawSegment, signJws, signSegments } from '../support/jws-kit.js';
import { APP_JWT_SECRET, APP_USER, HELLO, featureAppModule } from './apps/feature-app.js';
import { expectReject, stableHeaders, type HttpResponse } from '../support/http-client.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// ApproovModule.forRoot on Express and Fastify: guard, binding, Passport strategy, decorators,
// rotation and the onFailure codes, through an app that imports 'nestjs-approov' by name.

const CURRENT = randomBytes(64);
const NEXT = randomBytes(32);
const CURRENT_TEXT = CURRENT.toString('base64'); // as `approov secret -get base64` prints it
const NEXT_TEXT = NEXT.toString('base64url'); // as `approov secret -get base64url` prints it
const AUTH = `Bearer ${randomBytes(24).toString('base64url')}`;
const SESSION = `session-${randomBytes(12).toString('hex')}`;
const DEVICE = `device-${randomBytes(12).toString('hex')}`;
const NOW = () => Math.floor(Date.now() / 1000);

const token = (
  options: { claims?: Record<string, unknown>; bind?: string | string[]; secret?: string } = {},
) =>
  createApproovToken({
    secret: options.secret ?? CURRENT_TEXT,
    claims: options.claims,
    bind: options.bind,
  });
const raw = (payloadJson: string, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }) =>
  signSegments(jsonSegment(header), rawSegment(payloadJson), CURRENT);

logCapture.addSecret(CURRENT_TEXT);
logCapture.addSecret(NEXT_TEXT);

describe.each(ADAPTERS)('ApproovModule.forRoot on %s', (_platform, createAdapter) => {
  const failures: ApproovFailure[] = [];
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(
      // One line per reject: the suite checks each reject's line.
      featureAppModule({
        secret: [CURRENT_TEXT, NEXT_TEXT],
        rejectLog: { lines: 'every' },
        onFailure: (failure) => failures.push(failure),
      }),
      createAdapter,
    );
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    failures.length = 0;
  });

  describe('ApproovGuard', () => {
    it('serves an unprotected route without a token', async () => {
      const response = await app.get('/hello');
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual(HELLO);
    });

    it('serves a guarded route with a valid token', async () => {
      const response = await app.get('/token-check', { 'Approov-Token': token() });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual(HELLO);
      expect(failures).toEqual([]);
    });

    it('answers a guarded route without a token with the one 401 body', async () => {
      expectReject(await app.get('/token-check'));
    });

    it('accepts tokens signed with either of two secrets (rotation) and nothing else', async () => {
      expect(
        (await app.get('/token-check', { 'Approov-Token': token({ secret: CURRENT_TEXT }) }))
          .status,
      ).toBe(200);
      expect(
        (await app.get('/token-check', { 'Approov-Token': token({ secret: NEXT_TEXT }) })).status,
      ).toBe(200);
      expectReject(
        await app.get('/token-check', {
          'Approov-Token': token({ secret: randomBytes(32).toString('base64') }),
        }),
      );
      expect(failures.map((failure) => failure.code)).toEqual(['token_signature_invalid']);
    });
  });

  describe('the onFailure code of each reject, and the same 401 for all', () => {
    const rejects: Array<[string, string, () => ReadonlyArray<readonly [string, string]>, string]> =
      [
        ['no token', '/token-check', () => [], 'token_missing'],
        ['an empty token', '/token-check', () => [['Approov-Token', '']], 'token_missing'],
        [
          'two token headers',
          '/token-check',
          () => [
            ['Approov-Token', token()],
            ['Approov-Token', token()],
          ],
          'token_duplicated',
        ],
        [
          'two tokens joined "a, b"',
          '/token-check',
          () => [['Approov-Token', `${token()}, ${token()}`]],
          'token_malformed',
        ],
        [
          'a token over 4 KiB',
          '/token-check',
          () => [['Approov-Token', token({ claims: { f: 'x'.repeat(4096) } })]],
          'token_malformed',
        ],
        [
          'one segment',
          '/token-check',
          () => [['Approov-Token', 'adasdasdsadasd']],
          'token_malformed',
        ],
        [
          'the SDK status NO_NETWORK',
          '/token-check',
          () => [['Approov-Token', 'NO_NETWORK']],
          'token_status',
        ],
        [
          'the SDK status MITM_DETECTED',
          '/token-check',
          () => [['Approov-Token', 'MITM_DETECTED']],
          'token_status',
        ],
        [
          '"Bearer <token>"',
          '/token-check',
          () => [['Approov-Token', `Bearer ${token()}`]],
          'token_malformed',
        ],
        [
          'crit in the header',
          '/token-check',
          () => [
            [
              'Approov-Token',
              signJws({ exp: NOW() + 60 }, CURRENT, { alg: 'HS256', crit: ['exp'] }),
            ],
          ],
          'token_malformed',
        ],
        [
          'alg none',
          '/token-check',
          () => [['Approov-Token', signJws({ exp: NOW() + 60 }, CURRENT, { alg: 'none' })]],
          'token_algorithm_not_allowed',
        ],
        [
          'HS512 with the right secret',
          '/token-check',
          () => [
            ['Approov-Token', signJws({ exp: NOW() + 60 }, CURRENT, { alg: 'HS512' }, 'sha512')],
          ],
          'token_algorithm_not_allowed',
        ],
        [
          'HS384 with the right secret',
          '/token-check',
          () => [
            ['Approov-Token', signJws({ exp: NOW() + 60 }, CURRENT, { alg: 'HS384' }, 'sha384')],
          ],
          'token_algorithm_not_allowed',
        ],
        [
          'another secret',
          '/token-check',
          () => [['Approov-Token', signJws({ exp: NOW() + 60 }, randomBytes(64))]],
          'token_signature_invalid',
        ],
        [
          'the base64 text of the secret as key',
          '/token-check',
          () => [['Approov-Token', signJws({ exp: NOW() + 60 }, Buffer.from(CURRENT_TEXT))]],
          'token_signature_invalid',
        ],
        [
          'an array payload',
          '/token-check',
          () => [['Approov-Token', raw(`[{"exp":${NOW() + 60}}]`)]],
          'token_claims_invalid',
        ],
        [
          'no exp',
          '/token-check',
          () => [['Approov-Token', raw('{"did":"x"}')]],
          'token_expiration_missing',
        ],
        [
          'exp 1e400',
          '/token-check',
          () => [['Approov-Token', raw('{"exp":1e400}')]],
          'token_claims_invalid',
        ],
        [
          'exp as a string',
          '/token-check',
          () => [['Approov-Token', raw(`{"exp":"${NOW() + 60}"}`)]],
          'token_claims_invalid',
        ],
        [
          'an expired token',
          '/token-check',
          () => [['Approov-Token', token({ claims: { exp: NOW() - 1 } })]],
          'token_expired',
        ],
        [
          'nbf in the future',
          '/token-check',
          () => [['Approov-Token', token({ claims: { nbf: NOW() + 3600 } })]],
          'token_not_yet_valid',
        ],
        [
          'a bound route without Authorization',
          '/binding-only',
          () => [['Approov-Token', token({ bind: AUTH })]],
          'binding_header_missing',
        ],
        [
          'a bound route with Authorization twice',
          '/binding-only',
          () => [
            ['Approov-Token', token({ bind: AUTH })],
            ['Authorization', AUTH],
            ['Authorization', AUTH],
          ],
          'binding_header_missing',
        ],
        [
          'a bound route with a token without pay',
          '/binding-only',
          () => [
            ['Approov-Token', token()],
            ['Authorization', AUTH],
          ],
          'binding_claim_missing',
        ],
        [
          'a bound route with another Authorization',
          '/binding-only',
          () => [
            ['Approov-Token', token({ bind: AUTH })],
            ['Authorization', `${AUTH}x`],
          ],
          'binding_mismatch',
        ],
      ];

    it.each(rejects)('rejects %s on %s as %s', async (_name, path, headers, code) => {
      const response = await app.get(path, [...headers(), ['Approov-TraceID', 'trace-42']]);
      expectReject(response);
      // A status sent in the token header is reported as that status, nothing else of the header.
      const status =
        code === 'token_status' ? { approovStatus: headers()[0]![1].toLowerCase() } : {};
      expect(failures).toEqual([
        {
          code,
          context: 'http',
          method: 'GET',
          path,
          traceId: 'trace-42',
          monitored: false,
          ...status,
        },
      ]);
    });

    it('sends the same status, body and headers whatever the reason', async () => {
      const responses: HttpResponse[] = [];
      for (const [, path, headers] of rejects) responses.push(await app.get(path, headers()));
      const reference = stableHeaders(responses[0]!);
      expect(reference['www-authenticate']).toBeUndefined();
      for (const response of responses) {
        expect(response.status).toBe(401);
        expect(response.body).toBe(responses[0]!.body);
        expect(stableHeaders(response)).toEqual(reference);
      }
    });

    it('rejects through AuthGuard("approov") the cases a plain passport-jwt setup lets through', async () => {
      const looseTokens = [
        raw('{"did":"x"}'), // no exp
        raw('{"exp":1e400}'),
        raw(`[{"exp":${NOW() + 60}}]`),
        signJws({ exp: NOW() + 60 }, CURRENT, { alg: 'HS256', crit: ['exp'] }),
        signJws({ exp: NOW() + 60 }, CURRENT, { alg: 'HS512' }, 'sha512'),
      ];
      for (const loose of looseTokens) {
        expectReject(await app.get('/passport', { 'Approov-Token': loose }));
        expectReject(await app.get('/token-check', { 'Approov-Token': loose }));
      }
      expect(failures.map((failure) => failure.code)).toEqual([
        'token_expiration_missing',
        'token_expiration_missing',
        'token_claims_invalid',
        'token_claims_invalid',
        'token_claims_invalid',
        'token_claims_invalid',
        'token_malformed',
        'token_malformed',
        'token_algorithm_not_allowed',
        'token_algorithm_not_allowed',
      ]);
    });
  });

  describe('@ApproovBinding', () => {
    it('serves a binding-only route (no @UseGuards) with a token bound to Authorization', async () => {
      const response = await app.get('/binding-only', {
        'Approov-Token': token({ bind: AUTH }),
        Authorization: AUTH,
      });
      expect(response.status).toBe(200);
    });

    it('rejects a binding-only route without a token: the binding attaches the guard', async () => {
      expectReject(await app.get('/binding-only', { Authorization: AUTH }));
      expect(failures.map((failure) => failure.code)).toEqual(['token_missing']);
    });

    it('binds several headers in the declared order', async () => {
      const headers = { Authorization: AUTH, SessionId: SESSION };
      expect(
        (
          await app.get('/double-binding', {
            ...headers,
            'Approov-Token': token({ bind: [AUTH, SESSION] }),
          })
        ).status,
      ).toBe(200);
      expectReject(
        await app.get('/double-binding', {
          ...headers,
          'Approov-Token': token({ bind: [SESSION, AUTH] }),
        }),
      );
      expectReject(
        await app.get('/double-binding', {
          Authorization: AUTH,
          'Approov-Token': token({ bind: [AUTH, SESSION] }),
        }),
      );
      expect(failures.map((failure) => failure.code)).toEqual([
        'binding_mismatch',
        'binding_header_missing',
      ]);
    });

    it('applies a class-level binding to the handlers of the class', async () => {
      expect(
        (
          await app.get('/class-bound/inherit', {
            'Approov-Token': token({ bind: DEVICE }),
            'X-Device-Id': DEVICE,
          })
        ).status,
      ).toBe(200);
      expectReject(
        await app.get('/class-bound/inherit', {
          'Approov-Token': token({ bind: AUTH }),
          Authorization: AUTH,
        }),
      );
    });

    it('lets a handler-level binding win over the class-level one', async () => {
      expect(
        (
          await app.get('/class-bound/override', {
            'Approov-Token': token({ bind: AUTH }),
            Authorization: AUTH,
          })
        ).status,
      ).toBe(200);
      expectReject(
        await app.get('/class-bound/override', {
          'Approov-Token': token({ bind: DEVICE }),
          'X-Device-Id': DEVICE,
        }),
      );
    });

    it("uses the module's bindingHeaders for a handler-level @ApproovBinding() with no argument", async () => {
      expect(
        (
          await app.get('/class-bound/module-default', {
            'Approov-Token': token({ bind: AUTH }),
            Authorization: AUTH,
          })
        ).status,
      ).toBe(200);
      expectReject(
        await app.get('/class-bound/module-default', {
          'Approov-Token': token({ bind: DEVICE }),
          'X-Device-Id': DEVICE,
        }),
      );
    });

    it('hashes the whole Authorization value, scheme included', async () => {
      const withoutScheme = AUTH.slice('Bearer '.length);
      expectReject(
        await app.get('/binding-only', {
          'Approov-Token': token({ bind: withoutScheme }),
          Authorization: AUTH,
        }),
      );
      expect(failures.map((failure) => failure.code)).toEqual(['binding_mismatch']);
    });

    it('accepts pay as the SDK writes it: standard padded base64 of SHA-256', async () => {
      const pay = approovBindingHash(AUTH);
      expect(pay).toMatch(/=$/);
      const response = await app.get('/binding-only', {
        'Approov-Token': token({ claims: { pay } }),
        Authorization: AUTH,
      });
      expect(response.status).toBe(200);
    });
  });

  describe('@ApproovClaims', () => {
    it('injects all verified claims, and one claim by name', async () => {
      const exp = NOW() + 120;
      const response = await app.get('/claims', {
        'Approov-Token': token({ claims: { exp, did: 'device-42', ip: '1.2.3.4' } }),
      });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({
        claims: { exp, did: 'device-42', ip: '1.2.3.4' },
        did: 'device-42',
      });
    });
  });

  describe("AuthGuard('approov')", () => {
    it('puts the verified claims in request.user', async () => {
      const exp = NOW() + 120;
      const response = await app.get('/passport', {
        'Approov-Token': token({ claims: { exp, did: 'device-7' } }),
      });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({
        user: { exp, did: 'device-7' },
        did: 'device-7',
      });
    });

    it('answers a reject with exactly the 401 of ApproovGuard, and reports it', async () => {
      const viaPassport = await app.get('/passport', {
        'Approov-Token': token({ claims: { exp: NOW() - 1 } }),
      });
      const viaGuard = await app.get('/token-check', {
        'Approov-Token': token({ claims: { exp: NOW() - 1 } }),
      });
      expectReject(viaPassport);
      expect(viaPassport.body).toBe(viaGuard.body);
      expect(stableHeaders(viaPassport)).toEqual(stableHeaders(viaGuard));
      expect(failures.map((failure) => failure.code)).toEqual(['token_expired', 'token_expired']);
    });

    it('does not tell a token reject from a binding reject when it runs before the binding guard', async () => {
      const tokenReject = await app.get('/passport-first-binding', {
        'Approov-Token': 'NO_NETWORK',
        Authorization: AUTH,
      });
      const bindingReject = await app.get('/passport-first-binding', {
        'Approov-Token': token(),
        Authorization: AUTH,
      });
      expectReject(tokenReject);
      expectReject(bindingReject);
      expect(tokenReject.body).toBe(bindingReject.body);
      expect(stableHeaders(tokenReject)).toEqual(stableHeaders(bindingReject));
      expect(failures.map((failure) => failure.code)).toEqual([
        'token_status',
        'binding_claim_missing',
      ]);
      expect(
        (
          await app.get('/passport-first-binding', {
            'Approov-Token': token({ bind: AUTH }),
            Authorization: AUTH,
          })
        ).status,
      ).toBe(200);
    });

    it("works next to the app's own Passport JWT strategy, each in its own guard", async () => {
      const session = signJws({ sub: 'user-77', exp: NOW() + 60 }, Buffer.from(APP_JWT_SECRET));
      const headers = {
        'Approov-Token': token({ claims: { did: 'device-8' } }),
        Authorization: `Bearer ${session}`,
      };
      const response = await app.get('/approov-and-app-jwt', headers);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({
        user: { id: 'user-77', via: 'app-jwt' },
        did: 'device-8',
      });
      expectReject(await app.get('/approov-and-app-jwt', { Authorization: `Bearer ${session}` }));
      expect(failures.map((failure) => failure.code)).toEqual(['token_missing']);
      expect(
        (await app.get('/approov-and-app-jwt', { 'Approov-Token': headers['Approov-Token'] }))
          .status,
      ).toBe(401);
    });

    it('sends the same status, body and headers whatever the reason', async () => {
      const responses: HttpResponse[] = [];
      for (const loose of [
        undefined,
        'NO_NETWORK',
        token({ claims: { exp: NOW() - 1 } }),
        raw('{"did":"x"}'),
      ]) {
        responses.push(
          await app.get('/passport', loose === undefined ? {} : { 'Approov-Token': loose }),
        );
      }
      for (const response of responses) {
        expectReject(response);
        expect(response.body).toBe(responses[0]!.body);
        expect(stableHeaders(response)).toEqual(stableHeaders(responses[0]!));
      }
    });

    it('still checks the binding on a route that adds @ApproovBinding', async () => {
      expect(
        (
          await app.get('/passport-binding', {
            'Approov-Token': token({ bind: AUTH }),
            Authorization: AUTH,
          })
        ).status,
      ).toBe(200);
      expectReject(
        await app.get('/passport-binding', { 'Approov-Token': token(), Authorization: AUTH }),
      );
      expect(failures.map((failure) => failure.code)).toEqual(['binding_claim_missing']);
    });
  });

  describe('request.user of the app', () => {
    it('is not overwritten by ApproovGuard, which puts the claims in request.approov', async () => {
      const response = await app.get('/app-user', {
        'Approov-Token': token({ claims: { did: 'device-9' } }),
      });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ user: APP_USER, did: 'device-9' });
    });
  });

  describe('the reject log line', () => {
    it('carries the code, method, path and Approov-TraceID, and nothing of the request', async () => {
      const before = logCapture.approovLines().length;
      const sent = token({ claims: { exp: NOW() - 1 } });
      await app.get('/token-check?session=query-secret-value', {
        'Approov-Token': sent,
        'Approov-TraceID': 'trace-7f3a',
      });
      const lines = logCapture.approovLines().slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.level).toBe('warn');
      expect(lines[0]!.message).toContain('token_expired');
      expect(lines[0]!.message).toContain('GET');
      expect(lines[0]!.message).toContain('/token-check');
      expect(lines[0]!.message).toContain('trace-7f3a');
      expect(lines[0]!.message).not.toContain(sent);
      expect(lines[0]!.message).not.toContain('query-secret-value');
    });

    it('reports a repeated Approov-TraceID as invalid, never one of the values sent', async () => {
      await app.get('/token-check', [
        ['Approov-TraceID', 'trace-first'],
        ['Approov-TraceID', 'trace-second'],
      ]);
      expect(failures).toEqual([
        {
          code: 'token_missing',
          context: 'http',
          method: 'GET',
          path: '/token-check',
          traceId: 'invalid',
          monitored: false,
        },
      ]);
    });

    it('writes no line for an accepted request', async () => {
      const before = logCapture.approovLines().length;
      await app.get('/token-check', { 'Approov-Token': token() });
      expect(logCapture.approovLines().length).toBe(before);
    });
  });
});

describe('the logs of this suite', () => {
  afterAll(() => logCapture.stop());

  it('recorded the apps and their reject lines', () => {
    expect(logCapture.approovLines().length).toBeGreaterThan(20);
    expect(logCapture.sensitive.size).toBeGreaterThan(20);
  });

  it('hold no token, no bound header value and no secret (text or bytes)', () => {
    expect(logCapture.leaks()).toEqual([]);
  });
});
