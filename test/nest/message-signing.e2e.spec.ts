import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { ApproovConfigurationError, ApproovMessageSigning } from 'nestjs-approov';
import {
  createApproovInstallationKey,
  createApproovToken,
  signApproovRequest,
  type SignApproovRequestOptions,
} from 'nestjs-approov/testing';
import {
  messageSigningFixture as fixture,
  toStringForm,
  VECTOR_CREATED,
} from '../support/message-signing-vectors.js';
import { HELLO, startSigningApp, type SigningApp } from './apps/signing-app.js';
import { statusAndBody, UNAUTHORIZED_BODY, type HttpResponse } from '../support/http-client.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS } from '../support/nest-app.js';

const SECRET = fixture.token_secret_base64;
const IPK = fixture.ipk_spki_der_base64;
const PRIVATE_KEY = fixture.test_private_key_pkcs8_or_sec1_der_base64;
const JSON_BODY = '{"order":42,"note":"signed"}';
const nowSec = (): number => Math.floor(Date.now() / 1000);
// A distinct token per request: two requests alike in every signed byte within one second would
// be one request to the replay check, and these tests are about the signature, not replay.
const tokenWithIpk = (claims: Record<string, unknown> = {}): string =>
  createApproovToken({ secret: SECRET, claims: { ipk: IPK, jti: randomUUID(), ...claims } });

describe.each(ADAPTERS)('installation message signing on %s', (_name, createAdapter) => {
  let running: SigningApp;

  beforeAll(async () => {
    running = await startSigningApp(createAdapter, { secret: SECRET });
  });
  afterAll(async () => {
    await running.close();
  });
  beforeEach(() => {
    running.failures.length = 0;
  });

  type Signing = Partial<SignApproovRequestOptions>;

  /** Signs `signed` (default: what is sent), sends `sent`; either side can be tampered with. */
  async function signedRequest(
    sent: {
      method: string;
      path: string;
      token?: string;
      body?: string;
      headers?: OutgoingHttpHeaders;
    },
    signing: Signing = {},
  ): Promise<HttpResponse> {
    const token = sent.token ?? tokenWithIpk();
    const contentHeaders: Record<string, string> =
      sent.body !== undefined ? { 'content-type': 'application/json' } : {};
    const signatureHeaders = signApproovRequest({
      privateKey: PRIVATE_KEY,
      method: sent.method,
      url: new URL(sent.path, `http://127.0.0.1:${running.port}`),
      token,
      body: sent.body,
      headers: contentHeaders,
      ...signing,
    });
    return running.request(
      sent.method,
      sent.path,
      { 'approov-token': token, ...contentHeaders, ...signatureHeaders, ...sent.headers },
      sent.body,
    );
  }

  const expectServed = (reply: HttpResponse): void => {
    expect(statusAndBody(reply)).toEqual({ status: 200, body: JSON.stringify(HELLO) });
    expect(running.failures).toEqual([]);
  };
  const expectRejected = (reply: HttpResponse, code: string): void => {
    expect(statusAndBody(reply)).toEqual({ status: 401, body: UNAUTHORIZED_BODY });
    expect(running.failures).toEqual([code]);
  };

  describe('correctly signed requests', () => {
    it('serves a signed GET', async () => {
      expectServed(await signedRequest({ method: 'GET', path: '/signed' }));
    });

    it('serves a signed GET with a query', async () => {
      expectServed(await signedRequest({ method: 'GET', path: '/signed?a=1&b=%20x' }));
    });

    it('serves a signed POST whose body is covered by Content-Digest', async () => {
      expectServed(await signedRequest({ method: 'POST', path: '/signed', body: JSON_BODY }));
    });

    it('serves a signature sent as an sf-string (Android since October 2025)', async () => {
      expectServed(
        await signedRequest(
          { method: 'POST', path: '/signed', body: JSON_BODY },
          { signatureForm: 'string' },
        ),
      );
    });

    it('serves a sha-512 Content-Digest', async () => {
      expectServed(
        await signedRequest(
          { method: 'POST', path: '/signed', body: JSON_BODY },
          { digestAlgorithm: 'sha-512' },
        ),
      );
    });

    it('serves a signature that also covers @authority, @scheme, @path, @query and @request-target', async () => {
      const components = [
        '@method',
        '@target-uri',
        'approov-token',
        '@authority',
        '@scheme',
        '@path',
        '@query',
        '@request-target',
      ];
      expectServed(await signedRequest({ method: 'GET', path: '/signed?q=1' }, { components }));
    });

    it('serves a signature without expires', async () => {
      expectServed(await signedRequest({ method: 'GET', path: '/signed' }, { expires: null }));
    });
  });

  describe('tampered requests', () => {
    it('rejects another method than the one signed', async () => {
      expectRejected(
        await signedRequest({ method: 'GET', path: '/signed' }, { method: 'DELETE' }),
        'install_signature_invalid',
      );
    });

    it('rejects another path than the one signed', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        { url: `http://127.0.0.1:${running.port}/optional` },
      );
      expectRejected(reply, 'install_signature_invalid');
    });

    it('rejects another query than the one signed', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed?amount=1' },
        { url: `http://127.0.0.1:${running.port}/signed?amount=1000` },
      );
      expectRejected(reply, 'install_signature_invalid');
    });

    it('rejects another host than the one signed', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        { url: 'http://api.example.com/signed' },
      );
      expectRejected(reply, 'install_signature_invalid');
    });

    it('rejects another body under the signed Content-Digest', async () => {
      const reply = await signedRequest(
        { method: 'POST', path: '/signed', body: JSON_BODY },
        { body: '{"order":1}' },
      );
      expectRejected(reply, 'content_digest_mismatch');
    });

    it('rejects another body with a Content-Digest recomputed for it', async () => {
      const signed = signApproovRequest({
        privateKey: PRIVATE_KEY,
        method: 'POST',
        url: `http://127.0.0.1:${running.port}/signed`,
        token: tokenWithIpk(),
        body: JSON_BODY,
      });
      const forged = signApproovRequest({
        privateKey: createApproovInstallationKey().privateKey,
        method: 'POST',
        url: `http://127.0.0.1:${running.port}/signed`,
        token: 'x',
        body: '{"order":1}',
      });
      const reply = await signedRequest(
        {
          method: 'POST',
          path: '/signed',
          body: '{"order":1}',
          headers: { 'content-digest': forged['Content-Digest'] },
        },
        {
          body: JSON_BODY,
          headers: {
            'content-type': 'application/json',
            'content-digest': signed['Content-Digest']!,
          },
        },
      );
      expectRejected(reply, 'install_signature_invalid');
    });

    it('rejects another (valid) token than the one signed', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        { token: tokenWithIpk({ did: 'another' }) },
      );
      expectRejected(reply, 'install_signature_invalid');
    });

    it('rejects a signature made with another key than the token ipk', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        { privateKey: createApproovInstallationKey().privateKey },
      );
      expectRejected(reply, 'install_signature_invalid');
    });

    it('rejects another alg than ecdsa-p256-sha256', async () => {
      expectRejected(
        await signedRequest({ method: 'GET', path: '/signed' }, { alg: 'ecdsa-p384-sha384' }),
        'install_signature_invalid',
      );
    });
  });

  describe('the time window', () => {
    it('rejects a signature past its expires', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        { created: nowSec() - 30, expires: nowSec() - 15 },
      );
      expectRejected(reply, 'signature_expired');
    });

    it('rejects a signature created in the future', async () => {
      expectRejected(
        await signedRequest({ method: 'GET', path: '/signed' }, { created: nowSec() + 120 }),
        'signature_expired',
      );
    });

    it('rejects a signature older than maxAgeSec (60 s by default), even without expires', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        { created: nowSec() - 120, expires: null },
      );
      expectRejected(reply, 'signature_expired');
    });
  });

  describe('covered components', () => {
    it('rejects a signature that does not cover @target-uri', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        { components: ['@method', 'approov-token'] },
      );
      expectRejected(reply, 'signature_components_missing');
    });

    it('serves a POST whose signature does not cover content-digest, as the SDKs send by default', async () => {
      const reply = await signedRequest(
        { method: 'POST', path: '/signed', body: JSON_BODY },
        { components: ['@method', '@target-uri', 'approov-token'] },
      );
      expectServed(reply);
    });

    it('rejects a covered header the request does not carry', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed' },
        {
          components: ['@method', '@target-uri', 'approov-token', 'x-session'],
          headers: { 'x-session': 'abc' },
        },
      );
      expectRejected(reply, 'install_signature_invalid');
    });
  });

  describe('malformed and duplicated signature headers: 401, never 5xx', () => {
    const input =
      'install=("@method" "@target-uri" "approov-token");alg="ecdsa-p256-sha256";created=1';
    const signature = `install=:${Buffer.alloc(64, 7).toString('base64')}:`;
    it.each<[string, OutgoingHttpHeaders, string]>([
      ['no signature headers', {}, 'install_signature_missing'],
      ['Signature-Input alone', { 'signature-input': input }, 'signature_malformed'],
      ['Signature alone', { signature }, 'signature_malformed'],
      [
        'another label only',
        {
          'signature-input': input.replace('install', 'sig1'),
          signature: signature.replace('install', 'sig1'),
        },
        'install_signature_missing',
      ],
      [
        'an unterminated inner list',
        { 'signature-input': 'install=("@method"', signature },
        'signature_malformed',
      ],
      ['junk', { 'signature-input': '(((', signature: ':::' }, 'signature_malformed'],
      [
        'a signature that is not base64',
        { 'signature-input': input, signature: 'install=:!!!!:' },
        'signature_malformed',
      ],
      [
        'a 63-byte signature',
        { 'signature-input': input, signature: `install=:${Buffer.alloc(63).toString('base64')}:` },
        'signature_malformed',
      ],
      [
        'a latin1 byte in a component',
        { 'signature-input': 'install=("\xe9");created=1', signature },
        'signature_malformed',
      ],
      [
        'created as a string',
        { 'signature-input': input.replace('created=1', 'created="1"'), signature },
        'signature_malformed',
      ],
      [
        'no created',
        { 'signature-input': input.replace(';created=1', ''), signature },
        'signature_malformed',
      ],
      [
        'a 9 KB Signature-Input',
        { 'signature-input': `${input};pad="${'a'.repeat(9000)}"`, signature },
        'signature_malformed',
      ],
      [
        'a repeated install label',
        { 'signature-input': `${input}, install=("@method");created=1`, signature },
        'signature_malformed',
      ],
      [
        'two Signature-Input lines',
        { 'signature-input': [input, input], signature },
        'signature_malformed',
      ],
      [
        'two Signature lines',
        { 'signature-input': input, signature: [signature, signature] },
        'signature_malformed',
      ],
    ])('%s', async (_case, headers, code) => {
      const reply = await running.request('GET', '/signed', {
        'approov-token': tokenWithIpk(),
        ...headers,
      });
      expectRejected(reply, code);
    });

    it('rejects a valid signature whose label is repeated with another value', async () => {
      const token = tokenWithIpk();
      const signed = signApproovRequest({
        privateKey: PRIVATE_KEY,
        method: 'GET',
        url: `http://127.0.0.1:${running.port}/signed`,
        token,
      });
      const reply = await running.request('GET', '/signed', {
        'approov-token': token,
        'signature-input': signed['Signature-Input'],
        signature: `${signed.Signature}, ${signed.Signature}`,
      });
      expectRejected(reply, 'signature_malformed');
    });
  });

  describe('tokens with and without ipk', () => {
    const tokenWithoutIpk = (): string => createApproovToken({ secret: SECRET });

    it('rejects a token without ipk on a route that requires signing', async () => {
      const reply = await running.request('GET', '/signed', { 'approov-token': tokenWithoutIpk() });
      expectRejected(reply, 'install_key_missing');
    });

    it('serves a token without ipk (Approov failover) on a route that does not require signing', async () => {
      expectServed(
        await running.request('GET', '/optional', { 'approov-token': tokenWithoutIpk() }),
      );
    });

    it('still requires the signature of a token with ipk on a route that does not require signing', async () => {
      const reply = await running.request('GET', '/optional', { 'approov-token': tokenWithIpk() });
      expectRejected(reply, 'install_signature_missing');
    });

    it('serves a signed token with ipk on a route that does not require signing', async () => {
      expectServed(await signedRequest({ method: 'GET', path: '/optional' }));
    });

    it('rejects a token whose ipk is not a P-256 key', async () => {
      const token = tokenWithIpk({ ipk: Buffer.from('not a key').toString('base64') });
      expectRejected(
        await signedRequest({ method: 'GET', path: '/signed', token }),
        'token_claims_invalid',
      );
    });

    it('judges the token before the signature', async () => {
      const token = createApproovToken({ secret: Buffer.alloc(64, 1), claims: { ipk: IPK } });
      expectRejected(
        await signedRequest({ method: 'GET', path: '/signed', token }),
        'token_signature_invalid',
      );
    });
  });

  describe('decorator placement', () => {
    it('applies class-level options to every handler', async () => {
      const reply = await running.request('GET', '/class/required', {
        'approov-token': createApproovToken({ secret: SECRET }),
      });
      expectRejected(reply, 'install_key_missing');
    });

    it('lets the handler options win over the class options', async () => {
      expectServed(
        await running.request('GET', '/class/optional', {
          'approov-token': createApproovToken({ secret: SECRET }),
        }),
      );
    });
  });

  describe('trustProxy', () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' };

    it('rebuilds @target-uri from X-Forwarded-Proto and -Host on a trustProxy route', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/proxied', headers: forwarded },
        { url: 'https://api.example.com/proxied' },
      );
      expectServed(reply);
    });

    it('ignores forwarded headers on a route without trustProxy', async () => {
      const reply = await signedRequest(
        { method: 'GET', path: '/signed', headers: forwarded },
        { url: 'https://api.example.com/signed' },
      );
      expectRejected(reply, 'install_signature_invalid');
    });
  });

  describe('the shared vectors, on a frozen clock', () => {
    const [getVector, postVector] = fixture.requests;
    let clock: ReturnType<typeof jest.spyOn>;
    beforeEach(() => {
      clock = jest.spyOn(Date, 'now').mockReturnValue((VECTOR_CREATED + 5) * 1000);
    });
    afterEach(() => {
      clock.mockRestore();
    });

    it.each([
      ['sf-binary', getVector.signature],
      ['sf-string', toStringForm(getVector.signature)],
    ])('serves the GET vector (%s)', async (_form, signature) => {
      const reply = await running.request('GET', '/vector-get', {
        'approov-token': fixture.ipk_token,
        'signature-input': getVector.signature_input,
        signature,
      });
      expectServed(reply);
    });

    it.each([
      ['sf-binary', postVector.signature],
      ['sf-string', postVector.signature_android_string_form!],
    ])('serves the POST vector (%s) sent to its target URI', async (_form, signature) => {
      const target = new URL(postVector.target_uri!);
      const reply = await running.request(
        'POST',
        `${target.pathname}${target.search}`,
        {
          host: target.host,
          'content-type': 'text/plain',
          'approov-token': fixture.ipk_token,
          'content-digest': postVector.content_digest,
          'signature-input': postVector.signature_input,
          signature,
        },
        postVector.body,
      );
      expectServed(reply);
    });

    it('rejects the POST vector with its query changed', async () => {
      const target = new URL(postVector.target_uri!);
      const reply = await running.request(
        'POST',
        `${target.pathname}?param1=value1&param2=value3`,
        {
          host: target.host,
          'content-type': 'text/plain',
          'approov-token': fixture.ipk_token,
          'content-digest': postVector.content_digest,
          'signature-input': postVector.signature_input,
          signature: postVector.signature,
        },
        postVector.body,
      );
      expectRejected(reply, 'install_signature_invalid');
    });
  });
});

describe.each(ADAPTERS)('an app without rawBody on %s', (_name, createAdapter) => {
  let running: SigningApp;
  beforeAll(async () => {
    running = await startSigningApp(createAdapter, { secret: SECRET }, { rawBody: false });
  });
  afterAll(async () => {
    await running.close();
  });

  it('serves signed bodies all the same: ApproovModule keeps the bytes as sent itself', async () => {
    const logged = logCapture.approovLines().length;
    for (let i = 0; i < 2; i++) {
      const token = tokenWithIpk();
      const signed = signApproovRequest({
        privateKey: PRIVATE_KEY,
        method: 'POST',
        url: `http://127.0.0.1:${running.port}/signed`,
        token,
        body: JSON_BODY,
        headers: { 'content-type': 'application/json' },
      });
      const reply = await running.request(
        'POST',
        '/signed',
        { 'approov-token': token, 'content-type': 'application/json', ...signed },
        JSON_BODY,
      );
      expect(reply.status).toBe(200);
    }
    expect(running.failures).toEqual([]);
    const lines = logCapture
      .approovLines()
      .slice(logged)
      .map((line) => line.message);
    expect(lines.join('\n')).not.toContain('could not be read');
  });

  it('still serves a signed GET, which has no body to check', async () => {
    const token = tokenWithIpk();
    const signed = signApproovRequest({
      privateKey: PRIVATE_KEY,
      method: 'GET',
      url: `http://127.0.0.1:${running.port}/signed`,
      token,
    });
    const reply = await running.request('GET', '/signed', { 'approov-token': token, ...signed });
    expect(reply.status).toBe(200);
  });
});

describe('configuration errors', () => {
  it('refuses to boot on an invalid module-level messageSigning option, naming it', async () => {
    await expect(
      startSigningApp(ADAPTERS[0]![1], { secret: SECRET, messageSigning: { maxAgeSec: -5 } }),
    ).rejects.toThrow(
      new ApproovConfigurationError(
        'Approov option "messageSigning.maxAgeSec" must be a number of seconds from 1 to 3600.',
      ),
    );
  });

  it('refuses an invalid decorator option when the class is declared', () => {
    expect(() => ApproovMessageSigning({ requiredComponents: ['Content-Type'] })).toThrow(
      TypeError,
    );
  });
});
