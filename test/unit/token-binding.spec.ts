import { createHash } from 'node:crypto';
import { bindingDigest, checkTokenBinding } from '../../src/core/token-binding.js';

const sha = (text: string, encoding: BufferEncoding = 'latin1') =>
  createHash('sha256').update(Buffer.from(text, encoding)).digest();

describe('bindingDigest', () => {
  it('hashes the whole header value, scheme included', () => {
    expect(bindingDigest(['Bearer abc'])).toEqual(sha('Bearer abc'));
  });

  it('concatenates several values in order with no separator', () => {
    expect(bindingDigest(['Bearer a', 'session-1'])).toEqual(sha('Bearer asession-1'));
    expect(bindingDigest(['session-1', 'Bearer a'])).not.toEqual(sha('Bearer asession-1'));
  });

  it('hashes non-ASCII header bytes as latin1, as Node decoded them', () => {
    const received = Buffer.from([0x42, 0xe9, 0xff]).toString('latin1');
    expect(bindingDigest([received])).toEqual(createHash('sha256').update(Buffer.from([0x42, 0xe9, 0xff])).digest());
  });
});

describe('checkTokenBinding', () => {
  const pay = sha('Bearer abc');

  it('accepts pay in standard padded base64', () => {
    expect(checkTokenBinding({ exp: 1, pay: pay.toString('base64') }, ['Bearer abc'])).toBeNull();
  });

  it('accepts pay in unpadded base64url', () => {
    expect(checkTokenBinding({ exp: 1, pay: pay.toString('base64url') }, ['Bearer abc'])).toBeNull();
  });

  it('rejects a different header value', () => {
    expect(checkTokenBinding({ exp: 1, pay: pay.toString('base64') }, ['Bearer abd'])).toBe('binding_mismatch');
  });

  it('rejects a token without pay unless allowMissingBindingClaim', () => {
    expect(checkTokenBinding({ exp: 1 }, ['Bearer abc'])).toBe('missing_binding_claim');
    expect(checkTokenBinding({ exp: 1 }, ['Bearer abc'], true)).toBeNull();
  });

  it('rejects a pay that is not a string', () => {
    expect(checkTokenBinding({ exp: 1, pay: 42 as unknown as string }, ['Bearer abc'])).toBe('token_claims_invalid');
  });

  it('rejects a pay that does not decode to 32 bytes', () => {
    expect(checkTokenBinding({ exp: 1, pay: pay.subarray(0, 31).toString('base64') }, ['Bearer abc'])).toBe(
      'binding_mismatch',
    );
    expect(checkTokenBinding({ exp: 1, pay: 'not base64!' }, ['Bearer abc'])).toBe('binding_mismatch');
  });
});
