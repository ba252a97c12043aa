import { createSecretKey } from 'node:crypto';
import type { ApproovTokenClaims } from 'nestjs-approov';
import { createApproovInstallationKey } from 'nestjs-approov/testing';
import {
  MessageSignatureVerifier,
  type MessageSignatureResult,
} from '../../../src/core/message-signing/verify.js';
import {
  resolveMessageSigningOptions,
  type ApproovMessageSigningOptions,
} from '../../../src/core/message-signing/options.js';
import type { SignedRequestSource } from '../../../src/core/message-signing/request-target.js';
import { signaturePassableUntilMs } from '../../../src/core/message-signing/replay-identity.js';
import {
  createApproovRequestSignature,
  type SignApproovRequestOptions,
} from '../../../src/testing/sign-request.js';

const CREATED = 1_800_000_000;
const NOW = CREATED + 2;
const TOKEN = 'header.payload.signature';
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const installation = createApproovInstallationKey();
const otherInstallation = createApproovInstallationKey();

interface Sent {
  signing?: Partial<SignApproovRequestOptions>;
  privateKey?: string;
  path?: string;
  /** Rewrites the Signature field value before sending. */
  signatureField?: (value: string) => string;
}

function signedRequest({
  signing = {},
  privateKey = installation.privateKey,
  path = '/orders?id=7',
  signatureField,
}: Sent): SignedRequestSource {
  const { headers } = createApproovRequestSignature({
    privateKey,
    method: 'GET',
    url: `http://api.example.com${path}`,
    token: TOKEN,
    created: CREATED,
    ...signing,
  });
  const signature =
    signatureField === undefined ? headers.Signature : signatureField(headers.Signature);
  return {
    method: 'GET',
    target: path,
    encrypted: false,
    rawHeaders: [
      'Host',
      'api.example.com',
      'Approov-Token',
      TOKEN,
      'Signature-Input',
      headers['Signature-Input'],
      'Signature',
      signature,
    ],
  };
}

const verifier = new MessageSignatureVerifier();
function verify(
  request: SignedRequestSource,
  ipk = installation.ipk,
  layer: ApproovMessageSigningOptions = {},
): MessageSignatureResult {
  const claims: ApproovTokenClaims = { exp: NOW + 300, ipk };
  return verifier.verify(
    request,
    claims,
    resolveMessageSigningOptions('Approov-Token', 0, layer),
    NOW,
  );
}

function identityOf(
  request: SignedRequestSource,
  ipk = installation.ipk,
): { digest: string; passableUntilMs: number } {
  const result = verify(request, ipk);
  if (!result.ok || result.identity === undefined)
    throw new Error(`expected a verified request, got ${JSON.stringify(result)}`);
  return result.identity;
}

/** The same signature with s replaced by n - s: also valid for ECDSA, and a different byte string. */
function highSTwin(signatureField: string): string {
  const bytes = Buffer.from(/^install=:(.*):$/.exec(signatureField)![1]!, 'base64');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([
    bytes.subarray(0, 32),
    Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex'),
  ]);
  return `install=:${twin.toString('base64')}:`;
}

describe('the identity of a verified signed request', () => {
  it('is given with every verified signature: a base64url SHA-256', () => {
    expect(identityOf(signedRequest({})).digest).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is absent when an optional signature was not sent (nothing was signed)', () => {
    const claims: ApproovTokenClaims = { exp: NOW + 300 };
    const result = verifier.verify(
      signedRequest({}),
      claims,
      resolveMessageSigningOptions('Approov-Token', 0),
      NOW,
    );
    expect(result).toEqual({ ok: true, signatures: [] });
  });

  it('differs for two signings of the same request by the device (ECDSA: a new random k, a new r)', () => {
    const first = signedRequest({});
    const second = signedRequest({});
    expect(identityOf(second).digest).not.toBe(identityOf(first).digest);
  });

  it('is the same for one signature sent as an sf-binary or as an sf-string', () => {
    const binary = signedRequest({ signing: { signatureForm: 'binary' } });
    const asString = signedRequest({
      signing: { signatureForm: 'binary' },
      signatureField: () => binary.rawHeaders!.at(-1)!.replace(/^install=:(.*):$/, 'install="$1"'),
    });
    expect(asString.rawHeaders!.at(-1)).toMatch(/^install="/);
    expect(identityOf(asString).digest).toBe(identityOf(binary).digest);
  });

  it('is the same for the high-S twin of a signature, which also verifies', () => {
    const original = signedRequest({});
    const twin = signedRequest({ signatureField: () => highSTwin(original.rawHeaders!.at(-1)!) });
    expect(twin.rawHeaders!.at(-1)).not.toBe(original.rawHeaders!.at(-1));
    expect(identityOf(twin).digest).toBe(identityOf(original).digest);
  });

  it('is the same for an exact replay, and for a replay whose r is kept but s changed (which fails)', () => {
    const original = signedRequest({});
    expect(identityOf({ ...original }).digest).toBe(identityOf(original).digest);
    const forged = signedRequest({
      signatureField: () => {
        const bytes = Buffer.from(
          /^install=:(.*):$/.exec(original.rawHeaders!.at(-1)!)![1]!,
          'base64',
        );
        bytes[63] ^= 1;
        return `install=:${bytes.toString('base64')}:`;
      },
    });
    expect(verify(forged)).toEqual({ ok: false, code: 'install_signature_invalid' });
  });

  it('takes in the nonce parameter when the signature carries one', () => {
    const withNonce = (nonce: string) => signedRequest({ signing: { nonce } });
    const first = withNonce('n-1');
    expect(first.rawHeaders![5]).toContain(';nonce="n-1"');
    const sameNonce = identityOf(first).digest;
    const otherNonce = identityOf(withNonce('n-2')).digest;
    expect(otherNonce).not.toBe(sameNonce);
  });

  it('is the same whether the ipk claim is padded base64 or unpadded base64url', () => {
    const request = signedRequest({});
    const padded = identityOf(request, installation.ipk);
    const url = identityOf(request, Buffer.from(installation.ipk, 'base64').toString('base64url'));
    expect(url.digest).toBe(padded.digest);
  });

  it('differs for another installation key signing the same content', () => {
    const mine = identityOf(signedRequest({}));
    const theirs = identityOf(
      signedRequest({ privateKey: otherInstallation.privateKey }),
      otherInstallation.ipk,
    );
    expect(theirs.digest).not.toBe(mine.digest);
  });

  it('differs for another covered value: the path, or the created time', () => {
    const base = identityOf(signedRequest({})).digest;
    expect(identityOf(signedRequest({ path: '/orders?id=8' })).digest).not.toBe(base);
    expect(identityOf(signedRequest({ signing: { created: CREATED + 1 } })).digest).not.toBe(base);
  });
});

describe('how long a signature can pass', () => {
  it('ends at expires when that comes first (the SDK signs expires = created + 15)', () => {
    const { passableUntilMs } = identityOf(signedRequest({}));
    expect(passableUntilMs).toBe((CREATED + 15 + 10) * 1000); // plus the default 10 s of leeway
  });

  it('ends 1 ms after created + maxAgeSec when there is no expires', () => {
    const { passableUntilMs } = identityOf(signedRequest({ signing: { expires: null } }));
    expect(passableUntilMs).toBe((CREATED + 60 + 10) * 1000 + 1); // plus the default 10 s of leeway
  });

  it('takes the clock tolerance into account on both bounds', () => {
    expect(signaturePassableUntilMs(CREATED, undefined, 60, 5)).toBe((CREATED + 65) * 1000 + 1);
    expect(signaturePassableUntilMs(CREATED, CREATED + 15, 60, 5)).toBe((CREATED + 20) * 1000);
    expect(signaturePassableUntilMs(CREATED, CREATED + 600, 60, 0)).toBe((CREATED + 60) * 1000 + 1);
  });

  it('agrees with the verifier: the last passing moment is before it, the first failing one at it', () => {
    const options = resolveMessageSigningOptions('Approov-Token', 0, { maxAgeSec: 30 });
    const claims: ApproovTokenClaims = { exp: CREATED + 3600, ipk: installation.ipk };
    for (const expires of [null, CREATED + 15, CREATED + 600]) {
      const request = signedRequest({ signing: { expires } });
      const until = (
        verifier.verify(request, claims, options, CREATED) as {
          identity: { passableUntilMs: number };
        }
      ).identity.passableUntilMs;
      expect(verifier.verify(request, claims, options, (until - 1) / 1000).ok).toBe(true);
      expect(verifier.verify(request, claims, options, until / 1000)).toEqual({
        ok: false,
        code: 'signature_expired',
      });
    }
  });
});

describe('the identity of an account (HMAC) signature', () => {
  const accountKey = Buffer.alloc(32, 7);
  const accountVerifier = new MessageSignatureVerifier([createSecretKey(accountKey)]);
  const accountIdentity = (request: SignedRequestSource): string => {
    const result = accountVerifier.verify(
      request,
      { exp: NOW + 300 },
      resolveMessageSigningOptions('Approov-Token', 0, { accept: ['account'] }),
      NOW,
    );
    if (!result.ok || result.identity === undefined)
      throw new Error(`expected a verified request, got ${JSON.stringify(result)}`);
    return result.identity.digest;
  };
  const accountRequest = (signing: Partial<SignApproovRequestOptions> = {}) =>
    signedRequest({ signing: { label: 'account', accountKey, privateKey: undefined, ...signing } });

  it('is the base alone: two identical account-signed requests in one second are one (HMAC is deterministic)', () => {
    const first = accountRequest();
    const second = accountRequest();
    expect(second.rawHeaders!.at(-1)).toBe(first.rawHeaders!.at(-1));
    expect(accountIdentity(second)).toBe(accountIdentity(first));
  });

  it('differs with another nonce parameter, or another created time', () => {
    const plain = accountIdentity(accountRequest());
    expect(accountIdentity(accountRequest({ nonce: 'a' }))).not.toBe(plain);
    expect(accountIdentity(accountRequest({ nonce: 'b' }))).not.toBe(
      accountIdentity(accountRequest({ nonce: 'a' })),
    );
    expect(accountIdentity(accountRequest({ created: CREATED + 1 }))).not.toBe(plain);
  });

  it('differs from an install identity over the same base', () => {
    expect(accountIdentity(accountRequest())).not.toBe(identityOf(signedRequest({})).digest);
  });
});
