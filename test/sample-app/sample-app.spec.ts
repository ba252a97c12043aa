import {
  approovBindingHash,
  createApproovSecret,
  createApproovToken,
} from 'nestjs-approov/testing';
import { approovVectorSets } from '../support/approov-vectors.js';
import { httpGet, statusAndBody, UNAUTHORIZED_BODY } from '../support/http-client.js';
import {
  runSampleAppToExit,
  startSampleApp,
  type Platform,
  type RunningSampleApp,
} from '../../scripts/sample-app.mjs';

// The sample app's HTTP contract against the built sample app (node sample-app/dist/main.js), one child process per
// platform, plus Approov's public vectors (set A), whose routes are the sample app's.
const setA = approovVectorSets[0]!;
const SECRET = setA.secret_base64;
const HELLO = '{"message":"Hello, World!"}';
const AUTH = 'Bearer user-access-token';
const SESSION = 'session-1234';

interface Reply {
  status: number;
  body: string;
}

async function get(
  app: RunningSampleApp,
  route: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return statusAndBody(await httpGet(app.url, route, headers));
}

const ok: Reply = { status: 200, body: HELLO };
const rejected: Reply = { status: 401, body: UNAUTHORIZED_BODY };
const token = (
  options: Parameters<typeof createApproovToken>[0] extends infer O
    ? Omit<O, 'secret'>
    : never = {},
) => createApproovToken({ secret: SECRET, ...options });

describe.each<Platform>(['express', 'fastify'])('the built sample app on %s', (platform) => {
  describe('with APPROOV_BASE64_SECRET, HOST unset', () => {
    let app: RunningSampleApp;
    const sentTokens: string[] = [];
    const send = (route: string, headers: Record<string, string> = {}): Promise<Reply> => {
      if (headers['Approov-Token'] !== undefined) sentTokens.push(headers['Approov-Token']);
      return get(app, route, headers);
    };

    beforeAll(async () => {
      app = await startSampleApp({ platform, env: { APPROOV_BASE64_SECRET: SECRET } });
    });
    afterAll(() => app?.stop());

    it('listens on 127.0.0.1 by default and names the platform', () => {
      expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(app.output()).toContain(`(${platform})`);
    });

    it('serves GET /hello without a token', async () => {
      expect(await send('/hello')).toEqual(ok);
    });

    it('serves GET /token-check with a valid token, and answers 401 without one', async () => {
      expect(await send('/token-check', { 'Approov-Token': token() })).toEqual(ok);
      expect(await send('/token-check')).toEqual(rejected);
    });

    it('answers 401 on /token-check for an expired token, a token of another secret and a token without exp', async () => {
      expect(await send('/token-check', { 'Approov-Token': token({ expiresIn: -1 }) })).toEqual(
        rejected,
      );
      expect(
        await send('/token-check', {
          'Approov-Token': createApproovToken({ secret: createApproovSecret() }),
        }),
      ).toEqual(rejected);
      expect(
        await send('/token-check', { 'Approov-Token': token({ claims: { exp: undefined } }) }),
      ).toEqual(rejected);
    });

    it('serves GET /token-binding only with a token bound to the Authorization value', async () => {
      expect(
        await send('/token-binding', {
          'Approov-Token': token({ bind: AUTH }),
          Authorization: AUTH,
        }),
      ).toEqual(ok);
      expect(
        await send('/token-binding', {
          'Approov-Token': token({ bind: AUTH }),
          Authorization: 'Bearer other',
        }),
      ).toEqual(rejected);
      expect(await send('/token-binding', { 'Approov-Token': token({ bind: AUTH }) })).toEqual(
        rejected,
      );
      expect(
        await send('/token-binding', { 'Approov-Token': token(), Authorization: AUTH }),
      ).toEqual(rejected);
    });

    it('serves GET /token-double-binding only with a token bound to Authorization then SessionId', async () => {
      const both = { Authorization: AUTH, SessionId: SESSION };
      expect(
        await send('/token-double-binding', {
          ...both,
          'Approov-Token': token({ bind: [AUTH, SESSION] }),
        }),
      ).toEqual(ok);
      expect(
        await send('/token-double-binding', {
          ...both,
          'Approov-Token': token({ bind: [SESSION, AUTH] }),
        }),
      ).toEqual(rejected);
      expect(
        await send('/token-double-binding', {
          Authorization: AUTH,
          'Approov-Token': token({ bind: [AUTH, SESSION] }),
        }),
      ).toEqual(rejected);
      expect(
        await send('/token-double-binding', { ...both, 'Approov-Token': token({ bind: AUTH }) }),
      ).toEqual(rejected);
    });

    it('binds the double-bound route to the plain concatenation of both values', async () => {
      const pay = approovBindingHash(AUTH + SESSION);
      const headers = {
        Authorization: AUTH,
        SessionId: SESSION,
        'Approov-Token': token({ claims: { pay } }),
      };
      expect(await send('/token-double-binding', headers)).toEqual(ok);
    });

    describe("Approov's public vectors, set A", () => {
      it.each(setA.cases.map((vector) => [vector.name, vector] as const))(
        '%s',
        async (_, vector) => {
          const reply = await send(vector.route, vector.headers);
          expect(reply).toEqual(vector.expect === 200 ? ok : rejected);
        },
      );
    });

    it('logs neither the tokens it received nor the secret', () => {
      const output = app.output();
      expect(sentTokens.length).toBeGreaterThan(10);
      for (const sent of sentTokens.filter((value) => value.length > 20))
        expect(output).not.toContain(sent);
      expect(output).not.toContain(SECRET);
      expect(output).not.toContain(AUTH);
      expect(output).toContain('rejected binding_mismatch http GET /token-binding');
    });
  });

  it('accepts the secret from APPROOV_BASE64URL_SECRET', async () => {
    const secret = Buffer.from(SECRET, 'base64').toString('base64url');
    const app = await startSampleApp({ platform, env: { APPROOV_BASE64URL_SECRET: secret } });
    try {
      expect(await get(app, '/token-check', { 'Approov-Token': token() })).toEqual(ok);
      expect(
        await get(app, '/token-check', {
          'Approov-Token': createApproovToken({ secret: createApproovSecret() }),
        }),
      ).toEqual(rejected);
    } finally {
      await app.stop();
    }
  });

  it('without APPROOV_MESSAGE_SIGNING_KEY: says once at boot why account routes answer 401', async () => {
    const app = await startSampleApp({ platform, env: { APPROOV_BASE64_SECRET: SECRET } });
    try {
      const warning =
        /routes that require `account` signatures answer 401 because no account message-signing key is set/g;
      expect(app.output().match(warning)).toHaveLength(1);
      expect(await get(app, '/message-signing/account', { 'Approov-Token': token() })).toEqual(
        rejected,
      );
      expect(app.output().match(warning)).toHaveLength(1);
    } finally {
      await app.stop();
    }
  });

  describe('refusing to start', () => {
    const pem =
      '-----BEGIN PUBLIC KEY-----MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-----END PUBLIC KEY-----';
    it.each([
      ['no secret at all', {}, /APPROOV_BASE64_SECRET or APPROOV_BASE64URL_SECRET/],
      [
        'an empty APPROOV_BASE64_SECRET',
        { APPROOV_BASE64_SECRET: '' },
        /APPROOV_BASE64_SECRET is empty/,
      ],
      [
        "the quickstarts' placeholder",
        { APPROOV_BASE64_SECRET: 'approov_base64_secret_here' },
        /APPROOV_BASE64_SECRET is still the quickstart placeholder/,
      ],
      [
        'a secret of 16 bytes',
        { APPROOV_BASE64_SECRET: Buffer.alloc(16, 7).toString('base64') },
        /APPROOV_BASE64_SECRET decodes to 16 bytes/,
      ],
      [
        'a secret with junk characters',
        { APPROOV_BASE64_SECRET: `${SECRET.slice(0, 20)}$$$${SECRET.slice(20)}` },
        /APPROOV_BASE64_SECRET is not canonical base64/,
      ],
      [
        'a PEM key',
        { APPROOV_BASE64_SECRET: pem },
        /APPROOV_BASE64_SECRET looks like a PEM or JWK/,
      ],
      [
        'an unknown APPROOV_REJECT_LOG',
        { APPROOV_BASE64_SECRET: SECRET, APPROOV_REJECT_LOG: 'loud' },
        /APPROOV_REJECT_LOG must be/,
      ],
      [
        'a bad APPROOV_BASE64URL_SECRET',
        { APPROOV_BASE64URL_SECRET: Buffer.alloc(12, 0xfb).toString('base64url') },
        /APPROOV_BASE64URL_SECRET decodes to 12 bytes/,
      ],
      [
        'a short APPROOV_MESSAGE_SIGNING_KEY',
        {
          APPROOV_BASE64_SECRET: SECRET,
          APPROOV_MESSAGE_SIGNING_KEY: Buffer.alloc(16, 9).toString('base64'),
        },
        /APPROOV_MESSAGE_SIGNING_KEY decodes to 16 bytes/,
      ],
    ])(
      'with %s: exit code 1 and one line naming the variable',
      async (_, env: Record<string, string>, message) => {
        const run = await runSampleAppToExit({ platform, env });
        expect(run.code).toBe(1);
        expect(run.stdout).toBe('');
        const lines = run.stderr.trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^sample-app: cannot start: /);
        expect(lines[0]).toMatch(message);
        for (const value of Object.values(env).filter((v) => v.length > 0))
          expect(run.stderr).not.toContain(value);
      },
    );
  });
});

describe('the built sample app with bad server settings', () => {
  it.each([
    ['PLATFORM=koa', { PLATFORM: 'koa' }, /PLATFORM must be "express" or "fastify"/],
    ['PORT=http', { PORT: 'http' }, /PORT must be a port number/],
    ['PORT=70000', { PORT: '70000' }, /PORT must be a port number/],
  ])(
    'refuses %s with exit code 1 and one line',
    async (_, env: Record<string, string>, message) => {
      const run = await runSampleAppToExit({ env: { APPROOV_BASE64_SECRET: SECRET, ...env } });
      expect(run.code).toBe(1);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toContain(SECRET);
    },
  );
});
