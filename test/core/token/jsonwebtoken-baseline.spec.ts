import jwt from 'jsonwebtoken';
import { createSecretKey, randomBytes } from 'node:crypto';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { verifyApproovToken } from '../../../src/core/token/jws.js';
import { jsonSegment, rawSegment, signJws, signSegments } from '../../support/jws-kit.js';

// Why the core does not delegate to jsonwebtoken (what passport-jwt runs): with the right
// secret as a KeyObject and default options, it accepts tokens this module rejects. Should a
// jsonwebtoken release start refusing them, this spec fails and the design note in docs/design.md is due.

const SECRET = randomBytes(64);
const KEY = createSecretKey(SECRET);
const NOW = Math.floor(Date.now() / 1000);
const withPayload = (json: string) =>
  signSegments(jsonSegment({ alg: 'HS256', typ: 'JWT' }), rawSegment(json), SECRET);

const looseTokens: Array<[string, string, string]> = [
  ['no exp', withPayload('{"did":"device-1"}'), 'token_expiration_missing'],
  ['exp 1e400', withPayload('{"exp":1e400}'), 'token_claims_invalid'],
  ['an array payload', withPayload(`[{"exp":${NOW + 60}}]`), 'token_claims_invalid'],
  ['crit', signJws({ exp: NOW + 60 }, SECRET, { alg: 'HS256', crit: ['exp'] }), 'token_malformed'],
  [
    'HS512 with the right secret',
    signJws({ exp: NOW + 60 }, SECRET, { alg: 'HS512' }, 'sha512'),
    'token_algorithm_not_allowed',
  ],
];

describe('a token that jsonwebtoken.verify(token, keyObject) accepts and the core rejects', () => {
  it.each(looseTokens)('%s', (_name, token, code) => {
    expect(() => jwt.verify(token, KEY)).not.toThrow();
    expect(verifyApproovToken(token, TokenKeyring.ofSecrets([KEY]), NOW)).toEqual({
      ok: false,
      code,
    });
  });
});
