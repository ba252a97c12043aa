import { randomBytes } from 'node:crypto';
import {
  createApproovKeyPair,
  createApproovKeysetToken,
  createApproovToken,
  startApproovJwksServer,
  type ApproovJwksServer,
} from 'nestjs-approov/testing';
import {
  runSampleAppToExit,
  startSampleApp,
  type Platform,
  type RunningSampleApp,
} from '../../scripts/sample-app.mjs';

// The built sample app with APPROOV_JWKS_URI, APPROOV_ISSUER and APPROOV_AUDIENCE, as a user runs it.

const ISSUER = 'https://approov.example';
const AUDIENCE = 'api.example.com';
const key = createApproovKeyPair('ES256', 'sample-1');

describe.each<Platform>(['express', 'fastify'])(
  'the sample app with a keyset, on %s',
  (platform) => {
    let jwks: ApproovJwksServer;
    let app: RunningSampleApp;

    beforeAll(async () => {
      jwks = await startApproovJwksServer(key);
      app = await startSampleApp({
        platform,
        env: { APPROOV_JWKS_URI: jwks.url, APPROOV_ISSUER: ISSUER, APPROOV_AUDIENCE: AUDIENCE },
      });
    });
    afterAll(async () => {
      await app?.stop();
      await jwks?.close();
    });

    const get = (token: string) =>
      fetch(`${app.url}/token-check`, { headers: { 'Approov-Token': token } });

    it('serves a keyset token with the configured iss and aud, without any secret', async () => {
      expect(
        (await get(createApproovKeysetToken({ key, claims: { iss: ISSUER, aud: AUDIENCE } })))
          .status,
      ).toBe(200);
    });

    it('rejects a wrong iss, a wrong aud and an HS256 token (no secret configured)', async () => {
      expect(
        (
          await get(
            createApproovKeysetToken({ key, claims: { iss: 'https://other', aud: AUDIENCE } }),
          )
        ).status,
      ).toBe(401);
      expect(
        (await get(createApproovKeysetToken({ key, claims: { iss: ISSUER, aud: 'other' } })))
          .status,
      ).toBe(401);
      expect((await get(createApproovToken({ secret: randomBytes(32) }))).status).toBe(401);
    });
  },
);

describe('the sample app refuses bad keyset variables, naming them', () => {
  it.each([
    [{ APPROOV_JWKS_URI: 'http://keys.example.com/jwks.json' }, 'APPROOV_JWKS_URI'],
    [{ APPROOV_JWKS_URI: 'not a url' }, 'APPROOV_JWKS_URI'],
    [
      { APPROOV_JWKS_URI: 'https://keys.example.com/jwks.json', APPROOV_ISSUER: '' },
      'APPROOV_ISSUER',
    ],
    [
      { APPROOV_JWKS_URI: 'https://keys.example.com/jwks.json', APPROOV_AUDIENCE: '' },
      'APPROOV_AUDIENCE',
    ],
  ])('%p', async (env, variable) => {
    const run = await runSampleAppToExit({ env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`sample-app: cannot start: Approov ${variable} `);
  });

  it('refuses to start when the JWKS cannot load, naming APPROOV_JWKS_URI', async () => {
    const jwks = await startApproovJwksServer(key);
    jwks.fail('error');
    try {
      const run = await runSampleAppToExit({ env: { APPROOV_JWKS_URI: jwks.url } });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        'Approov APPROOV_JWKS_URI: the key set could not be loaded at boot (HTTP 503)',
      );
    } finally {
      await jwks.close();
    }
  });
});
