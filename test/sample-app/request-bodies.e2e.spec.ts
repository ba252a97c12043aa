import { createApproovToken, signApproovRequest } from 'nestjs-approov/testing';
import { messageSigningFixture as fixture } from '../support/message-signing-vectors.js';
import { startSampleApp, type Platform, type RunningSampleApp } from '../../scripts/sample-app.mjs';

// The built sample app (node sample-app/dist/main.js), as shipped: signed POSTs of every common
// content type reach POST /message-signing, their bodies checked against Content-Digest.
const SECRET = fixture.token_secret_base64;
const HELLO = '{"message":"Hello, World!"}';
const UNAUTHORIZED = '{"statusCode":401,"message":"Unauthorized"}';

const CONTENT_TYPES: ReadonlyArray<[string, Buffer]> = [
  ['application/json', Buffer.from('{"order":42}')],
  ['application/x-www-form-urlencoded', Buffer.from('order=42&note=a%20b')],
  ['text/plain', Buffer.from('plain text body\n')],
  ['application/octet-stream', Buffer.from([0x00, 0xff, 0x10, 0x80, 0x0a])],
];

async function signedPost(
  app: RunningSampleApp,
  type: string,
  body: Buffer,
  digestOver: Buffer = body,
): Promise<{ status: number; body: string }> {
  const url = `${app.url}/message-signing`;
  const token = createApproovToken({
    secret: SECRET,
    claims: { ipk: fixture.ipk_spki_der_base64 },
  });
  const signature = signApproovRequest({
    privateKey: fixture.test_private_key_pkcs8_or_sec1_der_base64,
    method: 'POST',
    url,
    token,
    body: digestOver,
    headers: { 'content-type': type },
  });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'approov-token': token, 'content-type': type, ...signature },
    body,
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.text() };
}

describe.each<Platform>(['express', 'fastify'])(
  'the built sample app on %s: signed request bodies',
  (platform) => {
    let app: RunningSampleApp;
    beforeAll(async () => {
      app = await startSampleApp({ platform, env: { APPROOV_BASE64_SECRET: SECRET } });
    });
    afterAll(() => app?.stop());

    it.each(CONTENT_TYPES)(
      'serves POST /message-signing with a signed %s body',
      async (type, body) => {
        expect(await signedPost(app, type, body)).toEqual({ status: 200, body: HELLO });
      },
    );

    it.each(CONTENT_TYPES)(
      'answers 401 when the %s body is not the one signed',
      async (type, body) => {
        expect(await signedPost(app, type, body, Buffer.concat([body, Buffer.from('!')]))).toEqual({
          status: 401,
          body: UNAUTHORIZED,
        });
      },
    );
  },
);
