import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { contentDigestMatches } from '../../../src/core/message-signing/content-digest.js';
import { fuzzRuns, fuzzTimeoutMs, reportFuzzCounts } from '../../support/fuzz-config.js';

// Property: contentDigestMatches never throws on a client's Content-Digest field, and matches only
// when every sha-256/sha-512 member is the digest of the body. Keys include the names that an
// object literal inherits (constructor, tostring...): a client chooses the dictionary keys.

const RUNS = fuzzRuns(2_000);
const counts: Record<string, number> = {};

const body = Buffer.from('{"amount":100}');
const digestOf = (algorithm: 'sha256' | 'sha512', bytes: Buffer) =>
  createHash(algorithm).update(bytes).digest('base64');

const keyArb = fc.oneof(
  fc.constantFrom(
    'sha-256',
    'sha-512',
    'md5',
    'constructor',
    'tostring',
    'valueof',
    'hasownproperty',
    'isprototypeof',
    '__proto__',
    'proto',
    '*',
  ),
  fc.string({ unit: fc.constantFrom(...'abcxyz-_.*0'.split('')), minLength: 1, maxLength: 12 }),
);
const valueArb = fc.oneof(
  fc.constantFrom(
    `:${digestOf('sha256', body)}:`,
    `:${digestOf('sha512', body)}:`,
    ':AAAA:',
    '::',
    '?1',
    '"x"',
    '(a b)',
    '1',
  ),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => `:${Buffer.from(bytes).toString('base64')}:`),
  fc.string({ maxLength: 20 }),
);
const fieldArb = fc
  .array(fc.tuple(keyArb, valueArb), { minLength: 1, maxLength: 4 })
  .map((members) => members.map(([key, value]) => `${key}=${value}`).join(', '));

describe('fuzz: Content-Digest field values', () => {
  afterAll(() => reportFuzzCounts('Content-Digest (core)', counts));

  it(
    'never throws, and matches only when a sha-256/sha-512 member holds the body digest',
    () => {
      fc.assert(
        fc.property(fc.oneof(fieldArb, fc.string({ maxLength: 120 })), (field) => {
          counts['field values'] = (counts['field values'] ?? 0) + 1;
          const matched = contentDigestMatches(field, body);
          expect(typeof matched).toBe('boolean');
          if (matched) {
            expect(
              field.includes(digestOf('sha256', body)) || field.includes(digestOf('sha512', body)),
            ).toBe(true);
          }
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it('ignores a member named after an Object.prototype property instead of throwing', () => {
    expect(contentDigestMatches('constructor=:AAAA:', body)).toBe(false);
    expect(
      contentDigestMatches(`constructor=:AAAA:, sha-256=:${digestOf('sha256', body)}:`, body),
    ).toBe(true);
  });
});
