import { generateKeyPairSync } from 'node:crypto';
import type { ApproovTokenClaims } from 'nestjs-approov';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { parseApproovSecrets } from '../../../src/core/keys/secret.js';
import { verifyApproovToken } from '../../../src/core/token/jws.js';
import { createApproovInstallationKey } from 'nestjs-approov/testing';
import { MessageSignatureVerifier } from '../../../src/core/message-signing/verify.js';
import {
  buildSignatureBase,
  requestComponentResolver,
} from '../../../src/core/message-signing/signature-base.js';
import {
  contentDigestMatches,
  createContentDigest,
} from '../../../src/core/message-signing/content-digest.js';
import { InstallationKeyCache } from '../../../src/core/message-signing/installation-keys.js';
import { parseDictionaryStrict } from '../../../src/core/message-signing/structured-fields.js';
import { parseMessageSignature } from '../../../src/core/message-signing/signature-fields.js';
import {
  checkMessageSigningOptions,
  resolveMessageSigningOptions,
  type ApproovMessageSigningOptions,
} from '../../../src/core/message-signing/options.js';
import {
  resolveRequestTarget,
  type SignedRequestSource,
} from '../../../src/core/message-signing/request-target.js';
import {
  createApproovRequestSignature,
  loadInstallationPrivateKey,
} from '../../../src/testing/sign-request.js';
import {
  messageSigningFixture as fixture,
  toStringForm,
  VECTOR_CREATED,
} from '../../support/message-signing-vectors.js';

const [getVector, postVector] = fixture.requests;
const NOW_FOR_VECTORS = VECTOR_CREATED + 5;
/** A verified signature, with the identity the replay check remembers it by. */
const VERIFIED = expect.objectContaining({
  ok: true,
  identity: {
    digest: expect.stringMatching(/^[\w-]{43}$/),
    passableUntilMs: expect.any(Number),
    clockToleranceMs: expect.any(Number),
  },
});

interface RequestParts {
  method?: string;
  target?: string;
  host?: string;
  encrypted?: boolean;
  headers?: [string, string][];
  rawBody?: Buffer;
}

function request(parts: RequestParts): SignedRequestSource {
  const rawHeaders: string[] = [];
  if (parts.host !== undefined) rawHeaders.push('Host', parts.host);
  for (const [name, value] of parts.headers ?? []) rawHeaders.push(name, value);
  return {
    method: parts.method ?? 'GET',
    target: parts.target ?? '/',
    encrypted: parts.encrypted ?? false,
    rawHeaders,
    rawBody: parts.rawBody,
  };
}

const options = (...layers: ApproovMessageSigningOptions[]) =>
  resolveMessageSigningOptions('Approov-Token', 0, ...layers);

function tokenClaims(): ApproovTokenClaims {
  const keys = parseApproovSecrets({ value: fixture.token_secret_base64, setting: 'test' });
  const result = verifyApproovToken(
    fixture.ipk_token,
    TokenKeyring.ofSecrets(keys),
    NOW_FOR_VECTORS,
  );
  if (!result.ok) throw new Error(`fixture token did not verify: ${result.code}`);
  return result.claims;
}

function getVectorRequest(
  signature = getVector.signature,
  method = getVector.method,
): SignedRequestSource {
  return request({
    method,
    target: '/anything',
    host: 'localhost:3000',
    headers: [
      ['Approov-Token', fixture.ipk_token],
      ['Signature-Input', getVector.signature_input],
      ['Signature', signature],
    ],
  });
}

function postVectorRequest(
  signature = postVector.signature,
  body = postVector.body!,
): SignedRequestSource {
  const url = new URL(postVector.target_uri!);
  return request({
    method: postVector.method,
    target: `${url.pathname}${url.search}`,
    host: url.host,
    headers: [
      ['Approov-Token', fixture.ipk_token],
      ['Content-Type', 'text/plain'],
      ['Content-Digest', postVector.content_digest!],
      ['Signature-Input', postVector.signature_input],
      ['Signature', signature],
    ],
    rawBody: Buffer.from(body),
  });
}

describe('the shared message-signing vectors (core, frozen clock)', () => {
  const verifier = new MessageSignatureVerifier();
  const getOptions = options({ requiredComponents: ['@method', 'approov-token'] });

  it('the vector token verifies with the TEST+SECRET secret and carries the vector ipk', () => {
    expect(tokenClaims().ipk).toBe(fixture.ipk_spki_der_base64);
  });

  it('rebuilds the GET vector signature base exactly', () => {
    const parsed = parseMessageSignature(getVector.signature_input, getVector.signature);
    if (!parsed.ok) throw new Error(parsed.code);
    const base = buildSignatureBase(
      parsed.value.components,
      requestComponentResolver(getVectorRequest(), false),
      parsed.value.signatureParams,
    );
    expect(base).toBe(getVector.signature_base!.replace('<ipk_token>', fixture.ipk_token));
  });

  it.each([
    ['sf-binary (iOS)', getVector.signature],
    ['sf-string (Android)', toStringForm(getVector.signature)],
  ])('accepts the GET vector signed as %s', (_form, signature) => {
    expect(
      verifier.verify(getVectorRequest(signature), tokenClaims(), getOptions, NOW_FOR_VECTORS),
    ).toEqual(VERIFIED);
  });

  it('rebuilds the POST vector signature base with @target-uri and content-digest', () => {
    const parsed = parseMessageSignature(postVector.signature_input, postVector.signature);
    if (!parsed.ok) throw new Error(parsed.code);
    const base = buildSignatureBase(
      parsed.value.components,
      requestComponentResolver(postVectorRequest(), false),
      parsed.value.signatureParams,
    );
    expect(base).toBe(
      [
        '"@method": POST',
        `"@target-uri": ${postVector.target_uri}`,
        `"approov-token": ${fixture.ipk_token}`,
        `"content-digest": ${postVector.content_digest}`,
        `"@signature-params": ${postVector.signature_input.slice('install='.length)}`,
      ].join('\n'),
    );
  });

  it('computes the POST vector Content-Digest from its body', () => {
    expect(createContentDigest(postVector.body!)).toBe(postVector.content_digest);
  });

  it.each([
    ['sf-binary (iOS)', postVector.signature],
    ['sf-string (Android)', postVector.signature_android_string_form!],
  ])('accepts the POST vector signed as %s', (_form, signature) => {
    expect(
      verifier.verify(postVectorRequest(signature), tokenClaims(), options(), NOW_FOR_VECTORS),
    ).toEqual(VERIFIED);
  });

  it('the Android form in the vectors is the iOS signature re-encoded', () => {
    expect(toStringForm(postVector.signature)).toBe(postVector.signature_android_string_form);
  });

  it('rejects the GET vector sent with another method', () => {
    const result = verifier.verify(
      getVectorRequest(getVector.signature, 'PUT'),
      tokenClaims(),
      getOptions,
      NOW_FOR_VECTORS,
    );
    expect(result).toEqual({ ok: false, code: 'install_signature_invalid' });
  });

  it('rejects the POST vector with another body under the same Content-Digest', () => {
    const result = verifier.verify(
      postVectorRequest(postVector.signature, 'My test message bodY'),
      tokenClaims(),
      options(),
      NOW_FOR_VECTORS,
    );
    expect(result).toEqual({ ok: false, code: 'content_digest_mismatch' });
  });

  it('rejects the GET vector under the default required components (no @target-uri)', () => {
    const result = verifier.verify(getVectorRequest(), tokenClaims(), options(), NOW_FOR_VECTORS);
    expect(result).toEqual({ ok: false, code: 'signature_components_missing' });
  });

  it('rejects the vectors once created is older than maxAgeSec', () => {
    const later = VECTOR_CREATED + 71; // maxAgeSec 60 plus the default 10 s of leeway
    expect(verifier.verify(getVectorRequest(), tokenClaims(), getOptions, later)).toEqual({
      ok: false,
      code: 'signature_expired',
    });
  });

  it('a signature made by the signer over the POST vector request matches what the verifier rebuilds', () => {
    const signed = createApproovRequestSignature({
      privateKey: fixture.test_private_key_pkcs8_or_sec1_der_base64,
      method: 'POST',
      url: postVector.target_uri!,
      token: fixture.ipk_token,
      body: postVector.body,
      components: ['@method', '@target-uri', 'approov-token', 'content-digest'],
      created: VECTOR_CREATED,
      expires: 1999999999,
    });
    expect(signed.headers['Signature-Input']).toBe(postVector.signature_input);
    expect(signed.headers['Content-Digest']).toBe(postVector.content_digest);
    const result = verifier.verify(
      postVectorRequest(signed.headers.Signature),
      tokenClaims(),
      options(),
      NOW_FOR_VECTORS,
    );
    expect(result).toEqual(VERIFIED);
  });
});

describe('parsing the signature fields', () => {
  const input = 'install=("@method" "approov-token");alg="ecdsa-p256-sha256";created=1';
  const signature = getVector.signature;

  it('re-serializes @signature-params canonically, parameters in the order received', () => {
    const parsed = parseMessageSignature(
      'install=(  "@method"   "approov-token" );created=1;alg="x";nonce="n"',
      signature,
    );
    expect(parsed.ok && parsed.value.signatureParams).toBe(
      '("@method" "approov-token");created=1;alg="x";nonce="n"',
    );
  });

  it.each([
    ['a repeated label in Signature-Input', `${input}, install=("@method");created=2`, signature],
    [
      'a repeated label in Signature',
      input,
      `${signature}, install=:${Buffer.alloc(64).toString('base64')}:`,
    ],
    [
      'a repeated label after another member',
      `${input}, other=("a"), install=("@method")`,
      signature,
    ],
    ['an unparseable Signature-Input', 'install=("@method"', signature],
    ['an unparseable Signature', input, 'install=:not base64!:'],
    ['a label in one field only', 'other=("@method");created=1', signature],
    ['a signature that is an inner list', input, 'install=(:AAAA:)'],
    ['an input that is an item', 'install="@method";created=1', signature],
    ['a component that is a token, not a string', 'install=(method);created=1', signature],
    ['a component with parameters', 'install=("content-type";sf);created=1', signature],
    ['an upper-case field name', 'install=("Content-Type");created=1', signature],
    ['an unsupported derived component', 'install=("@query-param");created=1', signature],
    ['@signature-params as a component', 'install=("@signature-params");created=1', signature],
    ['a repeated component', 'install=("@method" "@method");created=1', signature],
    ['a signature of 63 bytes', input, `install=:${Buffer.alloc(63).toString('base64')}:`],
    ['a signature of 65 bytes', input, `install=:${Buffer.alloc(65).toString('base64')}:`],
    ['an sf-string that is not base64', input, 'install="not*base64"'],
    ['a signature with parameters', input, `${signature};x=1`],
    ['an over-long Signature-Input', `${input};x="${'a'.repeat(9000)}"`, signature],
  ])('rejects %s as malformed', (_case, signatureInput, signatureField) => {
    expect(parseMessageSignature(signatureInput, signatureField)).toEqual({
      ok: false,
      code: 'signature_malformed',
    });
  });

  it('reports a missing signature when neither field has the install label', () => {
    expect(parseMessageSignature('sig1=("@method");created=1', 'sig1=:AAAA:')).toEqual({
      ok: false,
      code: 'install_signature_missing',
    });
  });

  it('ignores other labels next to install', () => {
    const parsed = parseMessageSignature(
      `sig1=("@path");created=1, ${input}`,
      `sig1=:AAAA:, ${signature}`,
    );
    expect(parsed.ok && parsed.value.components).toEqual(['@method', 'approov-token']);
  });

  it('parseDictionaryStrict accepts commas inside strings and inner lists, and refuses repeated keys', () => {
    expect(parseDictionaryStrict('a="x, y", b=("p" "q, r");s="(", c=1')?.size).toBe(3);
    expect(parseDictionaryStrict('a=1, b=2, a=3')).toBeNull();
    expect(parseDictionaryStrict('a="\\"", a=2')).toBeNull();
  });

  it('parseDictionaryStrict reads a backslash in a display string as a literal, so it cannot hide a repeated key', () => {
    // %"\" is a whole display string (RFC 9651): the backslash does not escape the closing quote.
    expect(
      parseDictionaryStrict('install=%"\\", install=("@method");alg="ecdsa-p256-sha256"'),
    ).toBeNull();
    expect(parseDictionaryStrict('a=%"x\\", b=1')?.size).toBe(2);
  });
});

describe('Content-Digest (RFC 9530)', () => {
  const body = Buffer.from('{"hello":"world"}');

  it.each(['sha-256', 'sha-512'] as const)('accepts a matching %s digest', (algorithm) => {
    expect(contentDigestMatches(createContentDigest(body, algorithm), body)).toBe(true);
  });

  it('requires every supported digest to match', () => {
    const both = `${createContentDigest(body)}, ${createContentDigest(Buffer.from('x'), 'sha-512')}`;
    expect(contentDigestMatches(both, body)).toBe(false);
  });

  it.each([
    ['a digest of another body', createContentDigest(Buffer.from('other'))],
    ['only unsupported algorithms', `md5=:${Buffer.alloc(16).toString('base64')}:`],
    ['a digest that is a string', `sha-256="${createContentDigest(body).slice(9, -1)}"`],
    ['a truncated digest', 'sha-256=:AAAA:'],
    ['unparseable text', 'sha-256=:'],
    ['a repeated algorithm', `${createContentDigest(body)}, sha-256=:AAAA:`],
    ['an empty value', ''],
  ])('rejects %s', (_case, value) => {
    expect(contentDigestMatches(value, body)).toBe(false);
  });
});

describe('rebuilding the target URI', () => {
  const target = (parts: RequestParts, trustProxy = false) =>
    resolveRequestTarget(request(parts), trustProxy);

  it('uses the connection scheme, the Host header and the raw request-target', () => {
    expect(target({ host: 'API.Example.com:8443', target: '/a%2Fb/c?x=1&y=%20' })).toEqual({
      scheme: 'http',
      authority: 'api.example.com:8443',
      receivedAuthority: 'API.Example.com:8443',
      requestTarget: '/a%2Fb/c?x=1&y=%20',
      path: '/a%2Fb/c',
      query: '?x=1&y=%20',
      targetUri: 'http://api.example.com:8443/a%2Fb/c?x=1&y=%20',
    });
  });

  it('drops the default port of the scheme and gives @query "?" when there is no query', () => {
    expect(target({ host: 'example.com:443', target: '/p', encrypted: true })).toMatchObject({
      targetUri: 'https://example.com/p',
      authority: 'example.com',
      query: '?',
    });
    expect(target({ host: 'example.com:80', target: '/' })?.targetUri).toBe('http://example.com/');
  });

  it('ignores forwarded headers unless trustProxy is set', () => {
    const parts: RequestParts = {
      host: 'internal:8080',
      target: '/p',
      headers: [
        ['X-Forwarded-Proto', 'https'],
        ['X-Forwarded-Host', 'api.example.com'],
      ],
    };
    expect(target(parts)?.targetUri).toBe('http://internal:8080/p');
    expect(target(parts, true)?.targetUri).toBe('https://api.example.com/p');
  });

  it('with trustProxy, takes the leftmost X-Forwarded value, and Forwarded first', () => {
    expect(
      target(
        { host: 'internal', target: '/p', headers: [['X-Forwarded-Proto', 'https, http']] },
        true,
      )?.targetUri,
    ).toBe('https://internal/p');
    expect(
      target(
        {
          host: 'internal',
          target: '/p',
          headers: [
            [
              'Forwarded',
              'for=192.0.2.60;proto=https;host="api.example.com:8443", for=10.0.0.1;proto=http',
            ],
            ['X-Forwarded-Host', 'ignored.example.com'],
          ],
        },
        true,
      )?.targetUri,
    ).toBe('https://api.example.com:8443/p');
  });

  it.each<[string, RequestParts]>([
    ['no Host', { target: '/p' }],
    ['two Host lines', { target: '/p', host: 'a', headers: [['Host', 'b']] }],
    ['a Host with a path', { target: '/p', host: 'a/b' }],
    ['an absolute-form target', { target: 'http://a/p', host: 'a' }],
    ['an asterisk-form target', { target: '*', host: 'a' }],
  ])('refuses %s', (_case, parts) => {
    expect(target(parts)).toBeNull();
  });

  it.each<[string, [string, string][]]>([
    ['a forwarded proto that is not http(s)', [['X-Forwarded-Proto', 'ftp']]],
    ['an unparseable Forwarded', [['Forwarded', 'proto=https;;']]],
    [
      'two Forwarded lines',
      [
        ['Forwarded', 'proto=https'],
        ['Forwarded', 'proto=http'],
      ],
    ],
  ])('with trustProxy, refuses %s', (_case, headers) => {
    expect(target({ host: 'a', target: '/p', headers }, true)).toBeNull();
  });

  it('reads the HTTP/2 :authority when there is no Host', () => {
    expect(
      target({ target: '/p', headers: [[':authority', 'h2.example.com']], encrypted: true })
        ?.targetUri,
    ).toBe('https://h2.example.com/p');
  });
});

describe('covered header fields', () => {
  it('joins repeated field lines with ", " after trimming each', () => {
    const resolve = requestComponentResolver(
      request({
        headers: [
          ['X-List', ' a '],
          ['Other', 'z'],
          ['x-list', 'b  '],
        ],
      }),
      false,
    );
    expect(resolve('x-list')).toBe('a, b');
    expect(resolve('absent')).toBeNull();
  });
});

describe('installation keys', () => {
  it('parses each ipk once and serves it from the cache afterwards', () => {
    const cache = new InstallationKeyCache(2);
    const first = cache.get(fixture.ipk_spki_der_base64);
    expect(first).not.toBeNull();
    expect(cache.get(fixture.ipk_spki_der_base64)).toBe(first);
    expect(cache.size).toBe(1);
  });

  it('stays within its bound, evicting the oldest key first', () => {
    const cache = new InstallationKeyCache(2);
    const [a, b, c] = [0, 1, 2].map(() => createApproovInstallationKey().ipk);
    const keyA = cache.get(a!);
    const keyB = cache.get(b!);
    cache.get(c!); // evicts a
    expect(cache.size).toBe(2);
    expect(cache.get(b!)).toBe(keyB);
    expect(cache.get(a!)).not.toBe(keyA); // parsed again
    expect(cache.size).toBe(2);
  });

  it.each([
    ['not base64', 'not*base64'],
    ['not a key', Buffer.from('hello').toString('base64')],
    [
      'a P-384 key',
      generateKeyPairSync('ec', { namedCurve: 'P-384' })
        .publicKey.export({ format: 'der', type: 'spki' })
        .toString('base64'),
    ],
    [
      'an Ed25519 key',
      generateKeyPairSync('ed25519')
        .publicKey.export({ format: 'der', type: 'spki' })
        .toString('base64'),
    ],
  ])('refuses an ipk that is %s', (_case, ipk) => {
    expect(new InstallationKeyCache().get(ipk)).toBeNull();
  });

  it('loads the test private key as SEC1 DER base64, and as PKCS#8 PEM', () => {
    const sec1 = loadInstallationPrivateKey(fixture.test_private_key_pkcs8_or_sec1_der_base64);
    const pem = sec1.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(loadInstallationPrivateKey(pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(() => loadInstallationPrivateKey('not a key')).toThrow(TypeError);
  });
});

describe('message-signing options', () => {
  const fail = (option: string, why: string): never => {
    throw new Error(`${option} ${why}`);
  };

  it('layers route options over module options over the defaults, field by field', () => {
    const resolved = resolveMessageSigningOptions(
      'X-Token',
      5,
      { maxAgeSec: 30, trustProxy: true },
      { maxAgeSec: 10 },
    );
    expect(resolved).toEqual({
      accept: ['install'],
      match: 'any',
      requireInstallationKey: false,
      maxAgeSec: 10,
      requiredComponents: ['@method', '@target-uri', 'x-token'],
      requireContentDigest: false,
      trustProxy: true,
      origin: null,
      clockToleranceSec: 10,
      allowReplays: false,
    });
  });

  it('turns the replay check off for a route that says allowReplays: true over a module that leaves it on', () => {
    expect(
      resolveMessageSigningOptions('X-Token', 0, {}, { allowReplays: true }).allowReplays,
    ).toBe(true);
    expect(
      resolveMessageSigningOptions('X-Token', 0, { allowReplays: true }, { allowReplays: false })
        .allowReplays,
    ).toBe(false);
  });

  it('splits a fixed public origin into scheme and normalised authority', () => {
    expect(
      resolveMessageSigningOptions('Approov-Token', 0, { origin: 'HTTPS://API.Example.com:443/' })
        .origin,
    ).toEqual({
      scheme: 'https',
      authority: 'api.example.com',
    });
  });

  it('takes the module clock tolerance for signatures when it is larger than the 10 s default', () => {
    expect(resolveMessageSigningOptions('Approov-Token', 30).clockToleranceSec).toBe(30);
    expect(
      resolveMessageSigningOptions('Approov-Token', 30, { clockToleranceSec: 2 }).clockToleranceSec,
    ).toBe(2);
  });

  it.each<[string, unknown]>([
    ['not an object', 'yes'],
    ['an unknown option', { requried: true }],
    ['required not boolean', { required: 'true' }],
    ['maxAgeSec 0', { maxAgeSec: 0 }],
    ['maxAgeSec over an hour', { maxAgeSec: 3601 }],
    ['clockToleranceSec negative', { clockToleranceSec: -1 }],
    ['requiredComponents empty', { requiredComponents: [] }],
    ['requiredComponents with an upper-case name', { requiredComponents: ['Content-Type'] }],
    ['requiredComponents with an unsupported derived name', { requiredComponents: ['@status'] }],
    ['accept empty', { accept: [] }],
    ['an origin with a path', { origin: 'https://api.example.com/v1' }],
    ['an origin with credentials', { origin: 'https://user:pw@api.example.com' }],
    ['an origin that is not http(s)', { origin: 'ftp://api.example.com' }],
    ['origin together with trustProxy', { origin: 'https://api.example.com', trustProxy: true }],
    ['accept with an unknown label', { accept: ['install', 'sig1'] }],
    ['match not any or all', { match: 'both' }],
  ])('refuses %s', (_case, value) => {
    expect(() => checkMessageSigningOptions(value, 'messageSigning', fail)).toThrow(
      /^messageSigning/,
    );
  });
});
