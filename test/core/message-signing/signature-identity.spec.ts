import { signApproovRequest } from 'nestjs-approov/testing';
import {
  MessageSignatureVerifier,
  type MessageSignatureResult,
} from '../../../src/core/message-signing/verify.js';
import { resolveMessageSigningOptions } from '../../../src/core/message-signing/options.js';
import { parseDictionaryStrict } from '../../../src/core/message-signing/structured-fields.js';
import { parseMessageSignature } from '../../../src/core/message-signing/signature-fields.js';
import { resolveAccountSigningKeys } from '../../../src/core/approov-config.js';
import { messageSigningFixture as fixture } from '../../support/message-signing-vectors.js';
import { ACCOUNT_KEY } from '../../support/client-profiles.js';

const NOW = 1_800_000_000;
const P256_ORDER = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
const claims = { exp: NOW + 60, ipk: fixture.ipk_spki_der_base64 };
const options = resolveMessageSigningOptions('Approov-Token', 0, {
  accept: ['install', 'account'],
});
const verifier = new MessageSignatureVerifier(resolveAccountSigningKeys(ACCOUNT_KEY));

function signedGet(form: 'binary' | 'string', label: 'install' | 'account' = 'install') {
  const headers = signApproovRequest({
    label,
    privateKey: fixture.test_private_key_pkcs8_or_sec1_der_base64,
    accountKey: ACCOUNT_KEY,
    method: 'GET',
    url: 'http://api.example.com/shapes',
    token: 'token-text',
    created: NOW,
    signatureForm: form,
  });
  return {
    headers,
    verify: (signature: string) =>
      verifier.verify(source(headers['Signature-Input'], signature), claims, options, NOW),
  };
}

const source = (input: string, signature: string) => ({
  method: 'GET',
  target: '/shapes',
  encrypted: false,
  rawHeaders: [
    'Host',
    'api.example.com',
    'Approov-Token',
    'token-text',
    'Signature-Input',
    input,
    'Signature',
    signature,
  ],
});

const idOf = (result: MessageSignatureResult): string => {
  if (!result.ok) throw new Error(`rejected: ${result.code}`);
  return result.signatures[0]!.identity.digest;
};

/** The same ECDSA signature with s replaced by n - s: a second valid encoding. */
function highS(signature: Buffer): Buffer {
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  return Buffer.concat([
    signature.subarray(0, 32),
    Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex'),
  ]);
}

describe('the identity of a verified signature', () => {
  it('is the same for the sf-binary and the sf-string form of one signature', () => {
    const binary = signedGet('binary');
    const bytes = Buffer.from(/:([^:]+):/.exec(binary.headers.Signature)![1]!, 'base64');
    expect(idOf(binary.verify(`install="${bytes.toString('base64')}"`))).toBe(
      idOf(binary.verify(binary.headers.Signature)),
    );
  });

  it('is the same for the high-S twin of an ECDSA signature, which also verifies', () => {
    const binary = signedGet('binary');
    const bytes = Buffer.from(/:([^:]+):/.exec(binary.headers.Signature)![1]!, 'base64');
    const twin = `install=:${highS(bytes).toString('base64')}:`;
    expect(idOf(binary.verify(twin))).toBe(idOf(binary.verify(binary.headers.Signature)));
  });

  it('differs between requests, and between labels', () => {
    const first = signedGet('binary');
    const account = signedGet('binary', 'account');
    const installId = idOf(first.verify(first.headers.Signature));
    const accountResult = verifier.verify(
      source(account.headers['Signature-Input'], account.headers.Signature),
      claims,
      options,
      NOW,
    );
    expect(accountResult).toMatchObject({ ok: true, signatures: [{ label: 'account' }] });
    expect(idOf(accountResult)).not.toBe(installId);
    expect(installId).toMatch(/^[\w-]{43}$/);
  });
});

describe('canonical base64, the same rule in both sf forms', () => {
  const { headers } = signedGet('binary');
  const b64 = /:([^:]+):/.exec(headers.Signature)![1]!;
  const nonCanonical = b64.replace(
    /([A-Za-z0-9+/])(==)$/,
    (_m, last: string) => `${String.fromCharCode(last.charCodeAt(0) + 1)}==`,
  );

  it.each<[string, string]>([
    ['sf-binary with non-zero pad bits', `install=:${nonCanonical}:`],
    ['sf-binary without padding', `install=:${b64.replace(/=+$/, '')}:`],
    ['sf-string with non-zero pad bits', `install="${nonCanonical}"`],
    ['sf-string without padding', `install="${b64.replace(/=+$/, '')}"`],
    ['sf-string in base64url', `install="${Buffer.from(b64, 'base64').toString('base64url')}"`],
  ])('rejects %s as malformed', (_case, signature) => {
    expect(parseMessageSignature(headers['Signature-Input'], signature)).toEqual({
      ok: false,
      code: 'signature_malformed',
    });
  });

  describe('is enforced only on the labels the route reads', () => {
    const installOnly = resolveMessageSigningOptions('Approov-Token', 0);
    const foreignInput = 'other=("@method");created=1',
      foreignBytes = 'AAB='; // stray bits
    const verifyWith = (input: string, signature: string) =>
      verifier.verify(source(input, signature), claims, installOnly, NOW);

    it.each<[string, string, string]>([
      ['its Signature member', `${foreignInput}`, `other=:${foreignBytes}:`],
      ['its Signature-Input parameters', `${foreignInput};k=:${foreignBytes}:`, 'other=:AAAA:'],
      [
        'both, twice in one member',
        `${foreignInput};k=:${foreignBytes}:;j=:${foreignBytes}:`,
        `other=:${foreignBytes}:;p=:${foreignBytes}:`,
      ],
    ])(
      'a foreign label with non-canonical base64 in %s does not fail the request',
      (_c, input, signature) => {
        expect(
          verifyWith(
            `${headers['Signature-Input']}, ${input}`,
            `${headers.Signature}, ${signature}`,
          ),
        ).toMatchObject({ ok: true, signatures: [{ label: 'install' }] });
      },
    );

    it('the label read, with non-canonical base64 in a parameter of its input, is malformed', () => {
      expect(
        verifyWith(`${headers['Signature-Input']};k=:${foreignBytes}:`, headers.Signature),
      ).toEqual({ ok: false, code: 'signature_malformed' });
    });

    it('a repeated foreign label still fails the whole field (which member is meant is unclear)', () => {
      expect(
        verifyWith(
          `${headers['Signature-Input']}, ${foreignInput}, ${foreignInput}`,
          `${headers.Signature}, other=:AAAA:`,
        ),
      ).toEqual({ ok: false, code: 'signature_malformed' });
    });
  });

  it('leaves a colon inside a token alone (it does not open a byte sequence)', () => {
    expect(parseDictionaryStrict('a=b:c/d, e=:AAAA:')?.size).toBe(2);
  });
});

describe('signature fields over several lines', () => {
  const install = signedGet('binary');
  const account = signedGet('string', 'account');

  it('reads two Signature lines with different labels as one dictionary', () => {
    const result = verifier.verify(
      {
        ...source(install.headers['Signature-Input'], install.headers.Signature),
        rawHeaders: [
          ...source(install.headers['Signature-Input'], install.headers.Signature).rawHeaders,
          'Signature-Input',
          account.headers['Signature-Input'],
          'Signature',
          account.headers.Signature,
        ],
      },
      claims,
      resolveMessageSigningOptions('Approov-Token', 0, {
        accept: ['install', 'account'],
        match: 'all',
      }),
      NOW,
    );
    expect(result).toMatchObject({
      ok: true,
      signatures: [{ label: 'install' }, { label: 'account' }],
    });
  });

  it("with match 'all', rejects a request missing one of the labels", () => {
    const result = verifier.verify(
      source(install.headers['Signature-Input'], install.headers.Signature),
      claims,
      resolveMessageSigningOptions('Approov-Token', 0, {
        accept: ['install', 'account'],
        match: 'all',
      }),
      NOW,
    );
    expect(result).toEqual({ ok: false, code: 'account_signature_missing' });
  });

  it('refuses more than 64 covered components before looking at any further one', () => {
    const names = Array.from({ length: 65 }, (_, i) => `"x-h${i}"`).join(' ');
    const input = `install=(${names});alg="ecdsa-p256-sha256";created=${NOW}`;
    expect(parseMessageSignature(input, install.headers.Signature)).toEqual({
      ok: false,
      code: 'signature_malformed',
    });
  });
});

describe('a fixed public origin', () => {
  const signedFor = signApproovRequest({
    privateKey: fixture.test_private_key_pkcs8_or_sec1_der_base64,
    method: 'GET',
    url: 'https://api.example.com/shapes',
    token: 'token-text',
    created: NOW,
  });
  // Behind a TLS-terminating proxy: plain HTTP, an internal Host, and a client-supplied X-Forwarded-Host.
  const behindProxy = {
    method: 'GET',
    target: '/shapes',
    encrypted: false,
    rawHeaders: [
      'Host',
      'backend.internal:8080',
      'X-Forwarded-Host',
      'evil.example',
      'Approov-Token',
      'token-text',
      'Signature-Input',
      signedFor['Signature-Input'],
      'Signature',
      signedFor.Signature,
    ],
  };

  it('verifies a request the client signed for the public URL, whatever Host and forwarding headers say', () => {
    const withOrigin = resolveMessageSigningOptions('Approov-Token', 0, {
      origin: 'https://api.example.com',
    });
    expect(verifier.verify(behindProxy, claims, withOrigin, NOW)).toMatchObject({ ok: true });
  });

  it('without it, rebuilds the internal URL and rejects', () => {
    expect(
      verifier.verify(behindProxy, claims, resolveMessageSigningOptions('Approov-Token', 0), NOW),
    ).toEqual({
      ok: false,
      code: 'install_signature_invalid',
    });
  });
});

describe('how long a verified signature stays acceptable', () => {
  it('is the earlier of created + maxAgeSec and expires, each plus the leeway', () => {
    const { headers, verify } = signedGet('binary'); // expires = created + 15
    expect(verify(headers.Signature)).toMatchObject({
      ok: true,
      signatures: [{ identity: { passableUntilMs: (NOW + 15 + 10) * 1000 } }],
    });
    const noExpires = signApproovRequest({
      privateKey: fixture.test_private_key_pkcs8_or_sec1_der_base64,
      method: 'GET',
      url: 'http://api.example.com/shapes',
      token: 'token-text',
      created: NOW,
      expires: null,
    });
    const result = verifier.verify(
      source(noExpires['Signature-Input'], noExpires.Signature),
      claims,
      options,
      NOW,
    );
    expect(result).toMatchObject({
      ok: true,
      identity: { passableUntilMs: (NOW + 60 + 10) * 1000 + 1 },
    });
    // One second past it the same request is refused.
    expect(
      verifier.verify(
        source(noExpires['Signature-Input'], noExpires.Signature),
        claims,
        options,
        NOW + 71,
      ),
    ).toEqual({
      ok: false,
      code: 'signature_expired',
    });
  });
});
