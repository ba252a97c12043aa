import { createHash, createSecretKey, randomBytes } from 'node:crypto';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { MAX_TOKEN_LENGTH } from '../../../src/core/token/jws.js';
import { ApproovVerifier, type ApproovVerifierConfig } from '../../../src/core/token/verifier.js';
import { readSingleHeader, type HeaderSource } from '../../../src/core/http/request-headers.js';
import { approovBindingHash } from '../../../src/testing/index.js';
import { signJws } from '../../support/jws-kit.js';

// The header rule (one header, non-empty, at most 4 KiB) and token binding, through
// readSingleHeader and ApproovVerifier.verifyRequest, on Node-style rawHeaders.

const NOW = 1_700_000_000;
const SECRET = randomBytes(64);
const AUTH = 'Bearer eyJhbGciOiJIUzI1NiJ9.user-session.signature';
const SESSION = 'session-7d1f0c';

const verifierWith = (config: Partial<ApproovVerifierConfig> = {}) =>
  new ApproovVerifier({
    keyring: TokenKeyring.ofSecrets([createSecretKey(SECRET)]),
    now: () => NOW,
    cacheSize: 0,
    ...config,
  });
const token = (claims: Record<string, unknown> = {}) =>
  signJws({ exp: NOW + 60, ...claims }, SECRET);
/** A request as Node exposes it: rawHeaders keeps every line, in order, as sent. */
const raw = (...pairs: Array<[string, string]>): HeaderSource => ({ rawHeaders: pairs.flat() });
const codeOf = (source: HeaderSource, binding?: readonly string[], verifier = verifierWith()) => {
  const result = verifier.verifyRequest(source, binding);
  return result.ok ? 'accepted' : result.code;
};

describe('readSingleHeader', () => {
  it('finds a header whatever the case of its name', () => {
    expect(readSingleHeader(raw(['APPROOV-token', 'abc']), 'approov-token')).toEqual({
      status: 'ok',
      value: 'abc',
    });
  });

  it('reports a missing header', () => {
    expect(readSingleHeader(raw(['Other', 'abc']), 'approov-token')).toEqual({ status: 'missing' });
  });

  it('reports an empty value as missing', () => {
    expect(readSingleHeader(raw(['Approov-Token', '']), 'approov-token')).toEqual({
      status: 'missing',
    });
  });

  it('reports a repeated header as duplicate, even with identical or differently cased lines', () => {
    expect(
      readSingleHeader(raw(['Approov-Token', 'a'], ['Approov-Token', 'a']), 'approov-token'),
    ).toEqual({
      status: 'duplicate',
    });
    expect(
      readSingleHeader(raw(['Approov-Token', 'a'], ['approov-token', 'b']), 'approov-token'),
    ).toEqual({
      status: 'duplicate',
    });
  });

  it('reports a repeat as duplicate even when one of the lines is empty', () => {
    expect(
      readSingleHeader(raw(['Approov-Token', 'a'], ['Approov-Token', '']), 'approov-token'),
    ).toEqual({
      status: 'duplicate',
    });
  });

  it('does not match a header whose name merely starts with the wanted one', () => {
    expect(readSingleHeader(raw(['Approov-Token-2', 'abc']), 'approov-token')).toEqual({
      status: 'missing',
    });
  });

  it('falls back to the headers object: string, repeated array and empty values', () => {
    expect(readSingleHeader({ headers: { 'approov-token': 'abc' } }, 'approov-token')).toEqual({
      status: 'ok',
      value: 'abc',
    });
    expect(readSingleHeader({ headers: { 'approov-token': ['a', 'b'] } }, 'approov-token')).toEqual(
      {
        status: 'duplicate',
      },
    );
    expect(readSingleHeader({ headers: { 'approov-token': '' } }, 'approov-token')).toEqual({
      status: 'missing',
    });
    expect(readSingleHeader({ headers: {} }, 'approov-token')).toEqual({ status: 'missing' });
  });
});

describe('rule 1: exactly one Approov-Token header, non-empty, at most 4 KiB', () => {
  it('accepts one valid header', () => {
    expect(codeOf(raw(['Approov-Token', token()]))).toBe('accepted');
  });

  it('rejects a request without the header as token_missing', () => {
    expect(codeOf(raw(['Authorization', AUTH]))).toBe('token_missing');
    expect(codeOf({})).toBe('token_missing');
  });

  it('rejects an empty header as token_missing', () => {
    expect(codeOf(raw(['Approov-Token', '']))).toBe('token_missing');
  });

  it('rejects the header sent twice as token_duplicated, even when both are valid', () => {
    const valid = token();
    expect(codeOf(raw(['Approov-Token', valid], ['Approov-Token', valid]))).toBe(
      'token_duplicated',
    );
    expect(codeOf(raw(['approov-token', valid], ['APPROOV-TOKEN', token({ n: 1 })]))).toBe(
      'token_duplicated',
    );
  });

  it('rejects two tokens joined as "a, b" in one header as token_malformed', () => {
    expect(codeOf(raw(['Approov-Token', `${token()}, ${token({ n: 1 })}`]))).toBe(
      'token_malformed',
    );
    expect(codeOf(raw(['Approov-Token', `${token()},${token({ n: 1 })}`]))).toBe('token_malformed');
  });

  it(`accepts a valid token of exactly ${MAX_TOKEN_LENGTH} characters and rejects one of ${MAX_TOKEN_LENGTH + 1}`, () => {
    const sized = (length: number): string => {
      // Grow a filler claim until the signed token has the wanted length (some lengths need a header tweak).
      for (const typ of ['JWT', 'JWTx', 'JWTxx']) {
        for (let fill = 2900; fill < 3100; fill += 1) {
          const candidate = signJws({ exp: NOW + 60, f: 'x'.repeat(fill) }, SECRET, {
            alg: 'HS256',
            typ,
          });
          if (candidate.length === length) return candidate;
        }
      }
      throw new Error(`no token of length ${length}`);
    };
    const atLimit = sized(MAX_TOKEN_LENGTH);
    const overLimit = sized(MAX_TOKEN_LENGTH + 1);
    expect(codeOf(raw(['Approov-Token', atLimit]))).toBe('accepted');
    expect(codeOf(raw(['Approov-Token', overLimit]))).toBe('token_malformed');
  });

  it('reads the header named by the tokenHeader option, and only it', () => {
    const verifier = verifierWith({ tokenHeader: 'X-Approov' });
    expect(codeOf(raw(['x-approov', token()]), undefined, verifier)).toBe('accepted');
    expect(codeOf(raw(['Approov-Token', token()]), undefined, verifier)).toBe('token_missing');
  });

  it.each(['NO_NETWORK', 'MITM_DETECTED', 'POOR_NETWORK', 'NO_APPROOV_SERVICE', ' no_network '])(
    'rejects the SDK status %s sent in place of a token as token_status',
    (status) => {
      expect(codeOf(raw(['Approov-Token', status]))).toBe('token_status');
    },
  );

  it.each(['NO_NETWORKS', 'SUCCESS', 'HELLO', 'A'.repeat(33)])(
    'rejects a word that is no SDK status, %s, as token_malformed',
    (word) => {
      expect(codeOf(raw(['Approov-Token', word]))).toBe('token_malformed');
    },
  );

  it('rejects "Bearer <token>" as token_malformed', () => {
    expect(codeOf(raw(['Approov-Token', `Bearer ${token()}`]))).toBe('token_malformed');
  });

  it('judges the token before the binding: a bad token is reported as such on a bound route', () => {
    const expired = signJws({ exp: NOW - 1, pay: approovBindingHash(AUTH) }, SECRET);
    expect(
      codeOf(raw(['Approov-Token', expired], ['Authorization', AUTH]), ['authorization']),
    ).toBe('token_expired');
  });
});

describe('rule 4: rotation through the verifier', () => {
  it('accepts tokens signed with either configured secret', () => {
    const second = randomBytes(32);
    const verifier = verifierWith({
      keyring: TokenKeyring.ofSecrets([createSecretKey(SECRET), createSecretKey(second)]),
    });
    expect(codeOf(raw(['Approov-Token', token()]), undefined, verifier)).toBe('accepted');
    expect(
      codeOf(raw(['Approov-Token', signJws({ exp: NOW + 60 }, second)]), undefined, verifier),
    ).toBe('accepted');
    expect(
      codeOf(
        raw(['Approov-Token', signJws({ exp: NOW + 60 }, randomBytes(32))]),
        undefined,
        verifier,
      ),
    ).toBe('token_signature_invalid');
  });
});

describe('rules 6-8 through the verifier options', () => {
  it('applies clockToleranceSec, issuer and audience from its configuration', () => {
    const verifier = verifierWith({ clockToleranceSec: 10, issuer: 'approov.io', audience: 'api' });
    const send = (claims: Record<string, unknown>) =>
      codeOf(raw(['Approov-Token', signJws(claims, SECRET)]), undefined, verifier);
    expect(send({ exp: NOW - 5, iss: 'approov.io', aud: 'api' })).toBe('accepted');
    expect(send({ exp: NOW - 10, iss: 'approov.io', aud: 'api' })).toBe('token_expired');
    expect(send({ exp: NOW + 60, iss: 'other', aud: 'api' })).toBe('token_issuer_invalid');
    expect(send({ exp: NOW + 60, iss: 'approov.io', aud: 'other' })).toBe('token_audience_invalid');
  });

  it('reads the clock at each request', () => {
    let now = NOW;
    const verifier = verifierWith({ now: () => now });
    const source = raw(['Approov-Token', token()]);
    expect(codeOf(source, undefined, verifier)).toBe('accepted');
    now = NOW + 60;
    expect(codeOf(source, undefined, verifier)).toBe('token_expired');
  });
});

describe('token binding through verifyRequest', () => {
  const bound = (values: string[], claims: Record<string, unknown> = {}) =>
    token({ pay: approovBindingHash(...values), ...claims });

  it('accepts a token bound to the Authorization value, scheme included', () => {
    expect(
      codeOf(raw(['Approov-Token', bound([AUTH])], ['Authorization', AUTH]), ['authorization']),
    ).toBe('accepted');
  });

  it('rejects a token bound to the value without its scheme', () => {
    const withoutScheme = AUTH.slice('Bearer '.length);
    expect(
      codeOf(raw(['Approov-Token', bound([withoutScheme])], ['Authorization', AUTH]), [
        'authorization',
      ]),
    ).toBe('binding_mismatch');
  });

  it('matches binding header names whatever their case', () => {
    expect(
      codeOf(raw(['Approov-Token', bound([AUTH])], ['AUTHORIZATION', AUTH]), ['Authorization']),
    ).toBe('accepted');
  });

  it('rejects another header value as binding_mismatch', () => {
    expect(
      codeOf(raw(['Approov-Token', bound([AUTH])], ['Authorization', `${AUTH}x`]), [
        'authorization',
      ]),
    ).toBe('binding_mismatch');
  });

  it('rejects a missing bound header as binding_header_missing (never hashes "")', () => {
    const boundToEmpty = token({ pay: approovBindingHash('') });
    expect(codeOf(raw(['Approov-Token', boundToEmpty]), ['authorization'])).toBe(
      'binding_header_missing',
    );
  });

  it('rejects an empty bound header as binding_header_missing (never hashes "")', () => {
    const boundToEmpty = token({ pay: approovBindingHash('') });
    expect(
      codeOf(raw(['Approov-Token', boundToEmpty], ['Authorization', '']), ['authorization']),
    ).toBe('binding_header_missing');
  });

  it('rejects a bound header sent twice as binding_header_missing', () => {
    expect(
      codeOf(
        raw(['Approov-Token', bound([AUTH])], ['Authorization', AUTH], ['Authorization', AUTH]),
        ['authorization'],
      ),
    ).toBe('binding_header_missing');
  });

  it('concatenates several bound headers in the declared order, no separator', () => {
    const request = raw(
      ['Approov-Token', bound([AUTH, SESSION])],
      ['SessionId', SESSION],
      ['Authorization', AUTH],
    );
    expect(codeOf(request, ['authorization', 'sessionid'])).toBe('accepted');
    expect(codeOf(request, ['sessionid', 'authorization'])).toBe('binding_mismatch');
  });

  it('rejects a multi-header binding when any one header is missing', () => {
    expect(
      codeOf(raw(['Approov-Token', bound([AUTH, SESSION])], ['Authorization', AUTH]), [
        'authorization',
        'sessionid',
      ]),
    ).toBe('binding_header_missing');
  });

  it('rejects a token without pay on a bound route as binding_claim_missing', () => {
    expect(
      codeOf(raw(['Approov-Token', token()], ['Authorization', AUTH]), ['authorization']),
    ).toBe('binding_claim_missing');
  });

  it('lets a token without pay through when allowMissingBindingClaim is set, but still checks a pay that is present', () => {
    const verifier = verifierWith({ allowMissingBindingClaim: true });
    expect(
      codeOf(raw(['Approov-Token', token()], ['Authorization', AUTH]), ['authorization'], verifier),
    ).toBe('accepted');
    expect(
      codeOf(
        raw(['Approov-Token', bound(['other'])], ['Authorization', AUTH]),
        ['authorization'],
        verifier,
      ),
    ).toBe('binding_mismatch');
  });

  it('rejects a pay that is not a string as token_claims_invalid', () => {
    expect(
      codeOf(raw(['Approov-Token', token({ pay: null })], ['Authorization', AUTH]), [
        'authorization',
      ]),
    ).toBe('token_claims_invalid');
  });

  it('hashes non-ASCII header bytes as the client sent them (latin1)', () => {
    const bytes = Buffer.from([0x42, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20, 0xe9, 0xff]);
    const received = bytes.toString('latin1'); // what Node hands over for these bytes
    const pay = createHash('sha256').update(bytes).digest('base64'); // what the SDK computes

    expect(
      codeOf(raw(['Approov-Token', token({ pay })], ['Authorization', received]), [
        'authorization',
      ]),
    ).toBe('accepted');
  });

  it('ignores the binding when the route declares no binding headers', () => {
    expect(codeOf(raw(['Approov-Token', token({ pay: approovBindingHash('other') })]), [])).toBe(
      'accepted',
    );
    expect(codeOf(raw(['Approov-Token', token({ pay: approovBindingHash('other') })]))).toBe(
      'accepted',
    );
  });
});
