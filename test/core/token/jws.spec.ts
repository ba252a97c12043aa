import {
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign as signAsymmetric,
} from 'node:crypto';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import type { TokenVerificationOptions } from '../../../src/core/token/claims.js';
import { verifyApproovToken } from '../../../src/core/token/jws.js';
import {
  hmacSegment,
  jsonSegment,
  rawSegment,
  signJws,
  signSegments,
  withSegmentRemainder,
  withStrayBits,
} from '../../support/jws-kit.js';

// The token string alone, every rule but the header's (those are in verifier.spec.ts).

const NOW = 1_700_000_000;
const SECRET = randomBytes(64);
const KEYS = TokenKeyring.ofSecrets([createSecretKey(SECRET)]);
const HS256 = { alg: 'HS256', typ: 'JWT' };

const verify = (token: string, options: TokenVerificationOptions = {}, nowSec = NOW) =>
  verifyApproovToken(token, KEYS, nowSec, options);
const codeOf = (token: string, options: TokenVerificationOptions = {}, nowSec = NOW) => {
  const result = verify(token, options, nowSec);
  return result.ok ? 'accepted' : result.code;
};
const valid = (claims: Record<string, unknown> = {}) =>
  signJws({ exp: NOW + 60, ...claims }, SECRET);
/** A token whose payload is the given JSON text, verbatim (for numbers JSON.stringify cannot write). */
const withPayloadText = (json: string, header: Record<string, unknown> = HS256) =>
  signSegments(jsonSegment(header), rawSegment(json), SECRET);

describe('verifyApproovToken: a well-formed HS256 token', () => {
  it('accepts a token signed with the secret bytes and returns its claims', () => {
    const result = verify(valid({ did: 'device-1', ip: '1.2.3.4' }));
    expect(result).toEqual({ ok: true, claims: { exp: NOW + 60, did: 'device-1', ip: '1.2.3.4' } });
  });

  it('answers synchronously (no key lookup or fetch can happen)', () => {
    expect(verify(valid())).not.toBeInstanceOf(Promise);
  });
});

describe('rule 2: three segments of canonical base64url', () => {
  const token = valid();
  const [h, p, s] = token.split('.') as [string, string, string];

  it.each([
    ['one segment', 'adasdasdsadasd'],
    ['two segments', `${h}.${p}`],
    ['four segments', `${token}.${s}`],
    ['five segments', `${token}.${s}.${s}`],
    ['an empty signature segment', `${h}.${p}.`],
    ['an empty payload segment', `${h}..${s}`],
    ['an empty header segment', `.${p}.${s}`],
    ['the empty string', ''],
  ])('rejects %s as token_malformed', (_name, candidate) => {
    expect(codeOf(candidate)).toBe('token_malformed');
  });

  it('rejects "=" padding on a segment even when the MAC covers it', () => {
    const header = withSegmentRemainder(HS256, 2);
    const padded = Buffer.from(JSON.stringify(header)).toString('base64');
    expect(padded.endsWith('==')).toBe(true);
    const paddedUrl = padded.replace(/\+/g, '-').replace(/\//g, '_');
    expect(codeOf(signSegments(paddedUrl, jsonSegment({ exp: NOW + 60 }), SECRET))).toBe(
      'token_malformed',
    );
  });

  it("rejects standard base64 '+' and '/' in place of '-' and '_'", () => {
    // A header whose base64url text holds '-' or '_': the same bytes in standard base64 differ.
    const header = { ...HS256, kid: '>>>???' };
    const urlText = jsonSegment(header);
    const stdText = Buffer.from(JSON.stringify(header)).toString('base64').replace(/=+$/, '');
    expect(urlText).toMatch(/[-_]/);
    expect(stdText).toMatch(/[+/]/);
    expect(codeOf(signSegments(urlText, jsonSegment({ exp: NOW + 60 }), SECRET))).toBe('accepted');
    expect(codeOf(signSegments(stdText, jsonSegment({ exp: NOW + 60 }), SECRET))).toBe(
      'token_malformed',
    );
  });

  it("rejects a signature in standard base64 ('+' or '/')", () => {
    // Find a token whose signature text has '-' or '_', then write it in the standard alphabet.
    let candidate = valid();
    for (let i = 0; !/[-_]/.test(candidate.split('.')[2]!); i += 1) candidate = valid({ n: i });
    const [ch, cp, cs] = candidate.split('.') as [string, string, string];
    const standard = cs.replace(/-/g, '+').replace(/_/g, '/');
    expect(codeOf(`${ch}.${cp}.${standard}`)).toBe('token_malformed');
  });

  it.each([
    ['a leading space', (t: string) => ` ${t}`],
    ['a trailing space', (t: string) => `${t} `],
    ['a space inside a segment', (t: string) => `${t.slice(0, 5)} ${t.slice(5)}`],
    ['a newline inside', (t: string) => `${t.slice(0, 5)}\n${t.slice(5)}`],
  ])('rejects %s', (_name, mutate) => {
    expect(codeOf(mutate(token))).toBe('token_malformed');
  });

  it('rejects stray trailing bits in the header segment even when the MAC covers them', () => {
    const header = jsonSegment(withSegmentRemainder(HS256, 2));
    const stray = withStrayBits(header);
    expect(Buffer.from(stray, 'base64url')).toEqual(Buffer.from(header, 'base64url'));
    expect(codeOf(signSegments(stray, jsonSegment({ exp: NOW + 60 }), SECRET))).toBe(
      'token_malformed',
    );
  });

  it('rejects stray trailing bits in the payload segment even when the MAC covers them', () => {
    const payload = jsonSegment(withSegmentRemainder({ exp: NOW + 60 }, 3));
    const stray = withStrayBits(payload);
    expect(Buffer.from(stray, 'base64url')).toEqual(Buffer.from(payload, 'base64url'));
    expect(codeOf(signSegments(jsonSegment(HS256), payload, SECRET))).toBe('accepted');
    expect(codeOf(signSegments(jsonSegment(HS256), stray, SECRET))).toBe('token_malformed');
  });

  it('rejects stray trailing bits in the signature segment', () => {
    const stray = `${h}.${p}.${withStrayBits(s)}`;
    expect(Buffer.from(withStrayBits(s), 'base64url')).toEqual(Buffer.from(s, 'base64url'));
    expect(codeOf(stray)).toBe('token_signature_invalid');
  });
});

describe('rule 3: the header is a JSON object with alg exactly HS256', () => {
  const payload = jsonSegment({ exp: NOW + 60 });
  const withHeaderText = (text: string | Buffer) => signSegments(rawSegment(text), payload, SECRET);

  it.each([
    ['a JSON array', '[{"alg":"HS256"}]'],
    ['a JSON string', '"HS256"'],
    ['a JSON number', '256'],
    ['JSON null', 'null'],
    ['not JSON', '{alg:HS256}'],
    ['truncated JSON', '{"alg":"HS256"'],
  ])('rejects a header that is %s as token_malformed', (_name, text) => {
    expect(codeOf(withHeaderText(text))).toBe('token_malformed');
  });

  it('rejects a header that is not UTF-8 as token_malformed', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"alg":"HS256","x":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    expect(codeOf(withHeaderText(bytes))).toBe('token_malformed');
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('rejects alg "%s" even with a valid HMAC', (alg) => {
    expect(codeOf(signJws({ exp: NOW + 60 }, SECRET, { alg, typ: 'JWT' }))).toBe(
      'token_algorithm_not_allowed',
    );
  });

  it('rejects an unsigned alg none token (empty signature segment)', () => {
    const unsigned = `${jsonSegment({ alg: 'none' })}.${payload}.`;
    expect(verify(unsigned).ok).toBe(false);
  });

  it.each([
    ['HS384', 'sha384'],
    ['HS512', 'sha512'],
  ] as const)('rejects %s even when signed with the right secret', (alg, hash) => {
    const token = signJws({ exp: NOW + 60 }, SECRET, { alg, typ: 'JWT' }, hash);
    expect(codeOf(token)).toBe('token_algorithm_not_allowed');
  });

  it.each([
    ['hs256', { alg: 'hs256' }],
    ['HS256 with a space', { alg: 'HS256 ' }],
    ['an array', { alg: ['HS256'] }],
    ['missing (enc A256GCM)', { typ: 'JWT', enc: 'A256GCM' }],
  ])('rejects alg %s as token_algorithm_not_allowed', (_name, header) => {
    expect(codeOf(signJws({ exp: NOW + 60 }, SECRET, header))).toBe('token_algorithm_not_allowed');
  });

  it('rejects an RS256 token signed with a real RSA key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const input = `${jsonSegment({ alg: 'RS256', typ: 'JWT' })}.${payload}`;
    const signature = signAsymmetric('sha256', Buffer.from(input), privateKey).toString(
      'base64url',
    );
    expect(codeOf(`${input}.${signature}`)).toBe('token_algorithm_not_allowed');
  });

  it('rejects an ES256 token signed with a real P-256 key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = `${jsonSegment({ alg: 'ES256', typ: 'JWT' })}.${payload}`;
    const signature = signAsymmetric('sha256', Buffer.from(input), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url');
    expect(codeOf(`${input}.${signature}`)).toBe('token_algorithm_not_allowed');
  });

  it('rejects an RS256 header whose HMAC uses the secret (algorithm confusion)', () => {
    expect(codeOf(signJws({ exp: NOW + 60 }, SECRET, { alg: 'RS256' }))).toBe(
      'token_algorithm_not_allowed',
    );
  });

  it.each([
    ['a list of claims', ['exp']],
    ['an empty list', []],
    ['a string', 'b64'],
  ])('rejects crit (%s) as token_malformed, even with a valid HMAC', (_name, crit) => {
    expect(codeOf(signJws({ exp: NOW + 60 }, SECRET, { ...HS256, crit }))).toBe('token_malformed');
  });
});

describe('rule 3: kid, jku, jwk, x5u and x5c never choose the key', () => {
  const attackerKey = randomBytes(32);
  const attackerHeaders: Array<[string, Record<string, unknown>]> = [
    ['kid', { kid: 'attacker-key' }],
    ['jku', { jku: 'http://127.0.0.1:1/jwks.json' }],
    ['jwk', { jwk: { kty: 'oct', k: attackerKey.toString('base64url') } }],
    ['x5u', { x5u: 'http://127.0.0.1:1/cert.pem' }],
    ['x5c', { x5c: [attackerKey.toString('base64')] }],
  ];

  it.each(attackerHeaders)(
    'rejects a token signed with the key its %s points to',
    (_name, fields) => {
      expect(codeOf(signJws({ exp: NOW + 60 }, attackerKey, { ...HS256, ...fields }))).toBe(
        'token_signature_invalid',
      );
    },
  );

  it.each(attackerHeaders)(
    'still verifies a token carrying %s with the configured secret',
    (_name, fields) => {
      expect(codeOf(signJws({ exp: NOW + 60 }, SECRET, { ...HS256, ...fields }))).toBe('accepted');
    },
  );
});

describe('rule 4: the HMAC-SHA256 signature under a configured secret', () => {
  it('rejects a token signed with another key', () => {
    expect(codeOf(signJws({ exp: NOW + 60 }, randomBytes(64)))).toBe('token_signature_invalid');
  });

  it('rejects a token signed with the base64 text of the secret instead of its bytes', () => {
    expect(codeOf(signJws({ exp: NOW + 60 }, Buffer.from(SECRET.toString('base64'))))).toBe(
      'token_signature_invalid',
    );
    expect(codeOf(signJws({ exp: NOW + 60 }, Buffer.from(SECRET.toString('base64url'))))).toBe(
      'token_signature_invalid',
    );
  });

  it('rejects a signature over a changed payload', () => {
    const [h, , s] = valid().split('.') as [string, string, string];
    expect(codeOf(`${h}.${jsonSegment({ exp: NOW + 3600 })}.${s}`)).toBe('token_signature_invalid');
  });

  it('rejects a truncated or extended signature', () => {
    const token = valid();
    expect(codeOf(token.slice(0, -1))).toBe('token_signature_invalid');
    expect(codeOf(`${token}A`)).toBe('token_signature_invalid');
  });

  it('rejects a signature of the right length made of zero bytes', () => {
    const [h, p] = valid().split('.') as [string, string];
    expect(codeOf(`${h}.${p}.${rawSegment(Buffer.alloc(32))}`)).toBe('token_signature_invalid');
  });

  it('accepts a token signed with any of several secrets (rotation) and rejects other keys', () => {
    const previous = randomBytes(32);
    const next = randomBytes(48);
    const keys = TokenKeyring.ofSecrets([createSecretKey(previous), createSecretKey(next)]);
    const check = (key: Buffer) =>
      verifyApproovToken(signJws({ exp: NOW + 60 }, key), keys, NOW).ok;
    expect(check(previous)).toBe(true);
    expect(check(next)).toBe(true);
    expect(check(SECRET)).toBe(false);
  });

  it('checks the signature before reading the payload', () => {
    const forged = `${jsonSegment(HS256)}.${rawSegment('[1,2]')}.${hmacSegment(randomBytes(32), 'x')}`;
    expect(codeOf(forged)).toBe('token_signature_invalid');
  });
});

describe('rule 5: the payload is a JSON object', () => {
  it.each([
    ['an array', '[{"exp":9999999999}]'],
    ['a string', '"exp"'],
    ['a number', '9999999999'],
    ['null', 'null'],
    ['a boolean', 'true'],
    ['not JSON', '{exp:9999999999}'],
  ])('rejects a payload that is %s as token_claims_invalid', (_name, json) => {
    expect(codeOf(withPayloadText(json))).toBe('token_claims_invalid');
  });

  it('rejects a payload that is not UTF-8 as token_claims_invalid', () => {
    const bytes = Buffer.concat([
      Buffer.from(`{"exp":${NOW + 60},"x":"`),
      Buffer.from([0xff]),
      Buffer.from('"}'),
    ]);
    expect(codeOf(signSegments(jsonSegment(HS256), rawSegment(bytes), SECRET))).toBe(
      'token_claims_invalid',
    );
  });
});

describe('rule 6: exp is a finite number in the future', () => {
  it('rejects a token without exp as token_expiration_missing', () => {
    expect(codeOf(signJws({ iss: 'api.example.com' }, SECRET))).toBe('token_expiration_missing');
  });

  it.each([
    ['an empty string', '""'],
    ['a numeric string', `"${NOW + 60}"`],
    ['null', 'null'],
    ['true', 'true'],
    ['false', 'false'],
    ['an array', `[${NOW + 60}]`],
    ['an object', `{"value":${NOW + 60}}`],
    ['1e400 (Infinity)', '1e400'],
    ['-1e400', '-1e400'],
  ])('rejects exp as %s with token_claims_invalid', (_name, exp) => {
    expect(codeOf(withPayloadText(`{"exp":${exp}}`))).toBe('token_claims_invalid');
  });

  it('accepts a fractional exp in the future', () => {
    expect(codeOf(withPayloadText(`{"exp":${NOW}.5}`))).toBe('accepted');
  });

  it('rejects a fractional exp in the past', () => {
    expect(codeOf(withPayloadText(`{"exp":${NOW - 1}.5}`))).toBe('token_expired');
  });

  it.each([
    ['equal to now', NOW],
    ['one second ago', NOW - 1],
    ['zero', 0],
    ['negative', -1],
  ])('rejects exp %s as token_expired', (_name, exp) => {
    expect(codeOf(signJws({ exp }, SECRET))).toBe('token_expired');
  });

  it('accepts an expired token within clockToleranceSec, and only within it', () => {
    const token = signJws({ exp: NOW - 5 }, SECRET);
    expect(codeOf(token, { clockToleranceSec: 6 })).toBe('accepted');
    expect(codeOf(token, { clockToleranceSec: 5 })).toBe('token_expired');
    expect(codeOf(token)).toBe('token_expired');
  });
});

describe('rule 7: nbf, when present, is a finite number not in the future', () => {
  it('accepts nbf now or in the past', () => {
    expect(codeOf(valid({ nbf: NOW }))).toBe('accepted');
    expect(codeOf(valid({ nbf: NOW - 100 }))).toBe('accepted');
  });

  it('rejects nbf in the future as token_not_yet_valid', () => {
    expect(codeOf(valid({ nbf: NOW + 1 }))).toBe('token_not_yet_valid');
  });

  it('accepts a future nbf within clockToleranceSec, and only within it', () => {
    const token = valid({ nbf: NOW + 5 });
    expect(codeOf(token, { clockToleranceSec: 5 })).toBe('accepted');
    expect(codeOf(token, { clockToleranceSec: 4 })).toBe('token_not_yet_valid');
  });

  it.each([
    ['a string', `"${NOW}"`],
    ['null', 'null'],
    ['1e400', '1e400'],
    ['an array', `[${NOW}]`],
  ])('rejects nbf as %s with token_claims_invalid', (_name, nbf) => {
    expect(codeOf(withPayloadText(`{"exp":${NOW + 60},"nbf":${nbf}}`))).toBe(
      'token_claims_invalid',
    );
  });
});

describe('rule 8: iss and aud, only when configured', () => {
  it('ignores iss and aud when not configured', () => {
    expect(codeOf(valid({ iss: 'anyone', aud: 'anything' }))).toBe('accepted');
  });

  it('accepts the configured issuer, or one of a list', () => {
    expect(codeOf(valid({ iss: 'approov.io' }), { issuer: 'approov.io' })).toBe('accepted');
    expect(codeOf(valid({ iss: 'b' }), { issuer: ['a', 'b'] })).toBe('accepted');
  });

  it.each([
    ['another issuer', { iss: 'evil.example' }],
    ['no iss', {}],
    ['iss as an array', { iss: ['approov.io'] }],
    ['iss differing in case', { iss: 'Approov.io' }],
  ])('rejects %s as token_issuer_invalid', (_name, claims) => {
    expect(codeOf(valid(claims), { issuer: 'approov.io' })).toBe('token_issuer_invalid');
  });

  it('accepts aud equal to the configured audience, or an aud list that contains it', () => {
    expect(codeOf(valid({ aud: 'approov.io' }), { audience: 'approov.io' })).toBe('accepted');
    expect(codeOf(valid({ aud: ['other', 'approov.io'] }), { audience: 'approov.io' })).toBe(
      'accepted',
    );
    expect(codeOf(valid({ aud: 'second' }), { audience: ['first', 'second'] })).toBe('accepted');
  });

  it.each([
    ['another audience', { aud: 'other' }],
    ['no aud', {}],
    ['an aud list without it', { aud: ['a', 'b'] }],
    ['aud as a number', { aud: 1 }],
  ])('rejects %s as token_audience_invalid', (_name, claims) => {
    expect(codeOf(valid(claims), { audience: 'approov.io' })).toBe('token_audience_invalid');
  });
});

describe('not a token at all', () => {
  it.each([
    'NO_NETWORK',
    'POOR_NETWORK',
    'MITM_DETECTED',
    'NO_APPROOV_SERVICE',
    'BAD_URL',
    'UNKNOWN_URL',
    'UNPROTECTED_URL',
    'NO_NETWORK_PERMISSION',
    'MISSING_LIB_DEPENDENCY',
    'INTERNAL_ERROR',
    'REJECTED',
    'DISABLED',
  ])('rejects the SDK status string %s as token_malformed', (status) => {
    expect(codeOf(status)).toBe('token_malformed');
  });

  it('rejects "Bearer <token>" as token_malformed', () => {
    expect(codeOf(`Bearer ${valid()}`)).toBe('token_malformed');
    expect(codeOf(`bearer ${valid()}`)).toBe('token_malformed');
  });
});
