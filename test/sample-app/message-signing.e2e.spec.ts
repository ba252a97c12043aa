import {
  createApproovInstallationKey,
  createApproovToken,
  signApproovRequest,
  type SignApproovRequestOptions,
} from 'nestjs-approov/testing';
import { AppModule } from '../../sample-app/src/app.module.js';
import { messageSigningFixture as fixture } from '../support/message-signing-vectors.js';
import { statusAndBody, UNAUTHORIZED_BODY } from '../support/http-client.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';
import {
  ACCOUNT_KEY,
  buildProfileRequest,
  profileCases,
  sendLines,
  type ProfileRoute,
} from '../support/client-profiles.js';

const SECRET = fixture.token_secret_base64;
const PRIVATE_KEY = fixture.test_private_key_pkcs8_or_sec1_der_base64;
const BODY = '{"greeting":"hi"}';
const HELLO = { message: 'Hello, World!' };
const UNAUTHORIZED = { status: 401, body: UNAUTHORIZED_BODY };

// The sample app as main.ts builds it, on the vectors' secret.
describe.each(ADAPTERS)('sample app /message-signing on %s', (_name, createAdapter) => {
  let app: RunningApp;
  const savedSecret = process.env.APPROOV_BASE64_SECRET;
  const savedKey = process.env.APPROOV_MESSAGE_SIGNING_KEY;

  beforeAll(async () => {
    process.env.APPROOV_BASE64_SECRET = SECRET;
    process.env.APPROOV_MESSAGE_SIGNING_KEY = ACCOUNT_KEY;
    app = await startApp(AppModule, createAdapter);
  });
  afterAll(async () => {
    await app.close();
    if (savedSecret === undefined) delete process.env.APPROOV_BASE64_SECRET;
    else process.env.APPROOV_BASE64_SECRET = savedSecret;
    if (savedKey === undefined) delete process.env.APPROOV_MESSAGE_SIGNING_KEY;
    else process.env.APPROOV_MESSAGE_SIGNING_KEY = savedKey;
  });

  const token = (claims: Record<string, unknown> = { ipk: fixture.ipk_spki_der_base64 }): string =>
    createApproovToken({ secret: SECRET, claims });

  /** Signs what `signing` says (default: the request as sent), then sends `sent`. */
  type Signing = Partial<SignApproovRequestOptions> & { signedPath?: string };

  async function request(
    sent: { method: 'GET' | 'POST'; path?: string; token?: string; body?: string },
    { signedPath, ...signing }: Signing = {},
  ): Promise<{ status: number; body: string }> {
    const path = sent.path ?? '/message-signing';
    const sentToken = sent.token ?? token();
    const content: Record<string, string> =
      sent.body === undefined ? {} : { 'content-type': 'application/json' };
    const signature = signApproovRequest({
      privateKey: PRIVATE_KEY,
      method: sent.method,
      url: new URL(signedPath ?? path, app.baseUrl),
      token: sentToken,
      body: sent.body,
      headers: content,
      ...signing,
    });
    const headers = { 'approov-token': sentToken, ...content, ...signature };
    return statusAndBody(await app.request(sent.method, path, headers, sent.body));
  }

  const served = { status: 200, body: JSON.stringify(HELLO) };

  it('GET: serves a correctly signed request', async () => {
    expect(await request({ method: 'GET' })).toEqual(served);
  });

  it('POST: serves a correctly signed request whose body is covered by Content-Digest', async () => {
    expect(await request({ method: 'POST', body: BODY })).toEqual(served);
  });

  it.each<[string, { method: 'GET' | 'POST'; path?: string; body?: string }, Signing]>([
    ['GET: the method', { method: 'GET' }, { method: 'HEAD' }],
    ['GET: the path', { method: 'GET' }, { signedPath: '/message-signing/other' }],
    [
      'GET: the query',
      { method: 'GET', path: '/message-signing?id=1' },
      { signedPath: '/message-signing?id=2' },
    ],
    ['GET: the token', { method: 'GET' }, { token: 'another-token' }],
    ['GET: the key', { method: 'GET' }, { privateKey: createApproovInstallationKey().privateKey }],
    ['GET: the alg', { method: 'GET' }, { alg: 'hmac-sha256' }],
    [
      'GET: the age',
      { method: 'GET' },
      { created: Math.floor(Date.now() / 1000) - 600, expires: null },
    ],
    ['POST: the body', { method: 'POST', body: BODY }, { body: '{"greeting":"bye"}' }],
  ])('rejects a request tampered with in %s', async (_case, sent, signing) => {
    expect(await request(sent, signing)).toEqual(UNAUTHORIZED);
  });

  it('POST: serves a request whose body is not covered, as the SDKs send by default', async () => {
    expect(
      await request(
        { method: 'POST', body: BODY },
        { components: ['@method', '@target-uri', 'approov-token'] },
      ),
    ).toEqual(served);
  });

  it('POST /message-signing/strict: requires the body to be covered', async () => {
    const path = '/message-signing/strict';
    expect(await request({ method: 'POST', path, body: BODY })).toEqual(served);
    expect(
      await request(
        { method: 'POST', path, body: BODY },
        { components: ['@method', '@target-uri', 'approov-token'] },
      ),
    ).toEqual(UNAUTHORIZED);
  });

  describe('the client-profile corpus', () => {
    const paths: Record<ProfileRoute, string> = {
      default: '/message-signing',
      strict: '/message-signing/strict',
      account: '/message-signing/account',
    };
    describe.each<ProfileRoute>(['default', 'strict', 'account'])('on the %s route', (route) => {
      it.each(profileCases().map((entry) => [entry.name, entry] as const))(
        '%s',
        async (_case, entry) => {
          const built = buildProfileRequest(
            entry,
            route,
            `127.0.0.1:${app.port}`,
            Math.floor(Date.now() / 1000),
            paths[route],
          );
          const reply = await sendLines(
            app.port,
            built.method,
            built.path,
            built.lines,
            built.body,
          );
          expect(reply).toEqual(entry.verdicts[route] === 'accept' ? served : UNAUTHORIZED);
        },
      );
    });
  });

  it('rejects an unsigned request', async () => {
    expect(statusAndBody(await app.get('/message-signing', { 'approov-token': token() }))).toEqual(
      UNAUTHORIZED,
    );
  });

  it('rejects a token without ipk (requireInstallationKey: true)', async () => {
    expect(await request({ method: 'GET', token: token({}) })).toEqual(UNAUTHORIZED);
  });
});
