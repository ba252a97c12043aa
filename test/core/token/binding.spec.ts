import { createHash } from 'node:crypto';
import {
  bindingDigest,
  checkTokenBinding,
  rememberedPayDigest,
} from '../../../src/core/token/binding.js';

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
    expect(bindingDigest([received])).toEqual(
      createHash('sha256')
        .update(Buffer.from([0x42, 0xe9, 0xff]))
        .digest(),
    );
  });
});

describe('checkTokenBinding', () => {
  const pay = sha('Bearer abc');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  // Same 32 bytes for a lenient decoder (the two unused low bits of the last character set).
  const strayBits = (text: string) => {
    const changed = text.replace(/.=$/, (c) => `${alphabet[alphabet.indexOf(c[0]!) | 1]}=`);
    expect(changed).not.toBe(text);
    expect(Buffer.from(changed, 'base64')).toEqual(Buffer.from(text, 'base64'));
    return changed;
  };

  it('accepts pay in standard padded base64', () => {
    expect(checkTokenBinding({ exp: 1, pay: pay.toString('base64') }, ['Bearer abc'])).toBeNull();
  });

  it('accepts pay in unpadded base64url', () => {
    expect(
      checkTokenBinding({ exp: 1, pay: pay.toString('base64url') }, ['Bearer abc']),
    ).toBeNull();
  });

  it('rejects a different header value', () => {
    expect(checkTokenBinding({ exp: 1, pay: pay.toString('base64') }, ['Bearer abd'])).toBe(
      'binding_mismatch',
    );
  });

  it('rejects a token without pay unless allowMissingBindingClaim', () => {
    expect(checkTokenBinding({ exp: 1 }, ['Bearer abc'])).toBe('binding_claim_missing');
    expect(checkTokenBinding({ exp: 1 }, ['Bearer abc'], true)).toBeNull();
  });

  it('rejects a pay that is not a string', () => {
    expect(checkTokenBinding({ exp: 1, pay: 42 as unknown as string }, ['Bearer abc'])).toBe(
      'token_claims_invalid',
    );
  });

  it('rejects a pay that does not decode to 32 bytes', () => {
    expect(
      checkTokenBinding({ exp: 1, pay: pay.subarray(0, 31).toString('base64') }, ['Bearer abc']),
    ).toBe('binding_mismatch');
    expect(checkTokenBinding({ exp: 1, pay: 'not base64!' }, ['Bearer abc'])).toBe(
      'binding_mismatch',
    );
  });

  it.each([
    ['an array', ['x']],
    ['an object', { sha256: 'x' }],
    ['null', null],
  ])('rejects pay as %s with token_claims_invalid', (_name, value) => {
    expect(checkTokenBinding({ exp: 1, pay: value as unknown as string }, ['Bearer abc'])).toBe(
      'token_claims_invalid',
    );
  });

  it('accepts pay in unpadded standard base64 and in padded base64url', () => {
    expect(
      checkTokenBinding({ exp: 1, pay: pay.toString('base64').replace(/=+$/, '') }, ['Bearer abc']),
    ).toBeNull();
    expect(
      checkTokenBinding({ exp: 1, pay: `${pay.toString('base64url')}=` }, ['Bearer abc']),
    ).toBeNull();
  });

  it.each([
    ['33 bytes', () => Buffer.concat([pay, Buffer.from([0])]).toString('base64')],
    ['the hex digest', () => pay.toString('hex')],
    ['mixed base64 and base64url alphabets', () => `${pay.toString('base64').replace(/=+$/, '')}-`],
    ['base64 with stray trailing bits', () => strayBits(pay.toString('base64'))],
    ['an empty string', () => ''],
  ])('rejects pay as %s with binding_mismatch', (_name, encode) => {
    expect(checkTokenBinding({ exp: 1, pay: encode() }, ['Bearer abc'])).toBe('binding_mismatch');
  });

  it('checks pay even when allowMissingBindingClaim is set', () => {
    expect(checkTokenBinding({ exp: 1, pay: pay.toString('base64') }, ['Bearer abd'], true)).toBe(
      'binding_mismatch',
    );
  });

  describe('the decoded pay, remembered for frozen claims', () => {
    it('judges every value afresh against remembered claims: a pass does not vouch for another value', () => {
      const claims = Object.freeze({ exp: 1, pay: pay.toString('base64') });
      expect(checkTokenBinding(claims, ['Bearer abc'])).toBeNull();
      expect(checkTokenBinding(claims, ['Bearer abd'])).toBe('binding_mismatch');
      expect(checkTokenBinding(claims, ['Bearer abc'])).toBeNull();
      expect(checkTokenBinding(claims, ['Bearer abc', ''])).toBeNull(); // the same bytes concatenated
      expect(checkTokenBinding(claims, ['Bearer ab', 'c'])).toBeNull();
      expect(checkTokenBinding(claims, ['Bearer ab', 'd'])).toBe('binding_mismatch');
    });

    it('keeps rejecting a pay that is not a digest', () => {
      const claims = Object.freeze({ exp: 1, pay: pay.subarray(0, 31).toString('base64') });
      expect(checkTokenBinding(claims, ['Bearer abc'])).toBe('binding_mismatch');
      expect(checkTokenBinding(claims, ['Bearer abc'])).toBe('binding_mismatch');
    });

    it('follows a pay that changes on claims that are not frozen', () => {
      const claims: { exp: number; pay: string } = { exp: 1, pay: pay.toString('base64') };
      expect(checkTokenBinding(claims, ['Bearer abc'])).toBeNull();
      claims.pay = sha('Bearer xyz').toString('base64');
      expect(checkTokenBinding(claims, ['Bearer abc'])).toBe('binding_mismatch');
      expect(checkTokenBinding(claims, ['Bearer xyz'])).toBeNull();
    });

    it('keeps its own 32 bytes, not a view that would hold a shared pool block alive', () => {
      const claims = Object.freeze({ exp: 1, pay: sha('Bearer pool').toString('base64') });
      expect(rememberedPayDigest(claims)).toBeUndefined();
      expect(checkTokenBinding(claims, ['Bearer pool'])).toBeNull();
      const remembered = rememberedPayDigest(claims);
      expect(remembered?.equals(sha('Bearer pool'))).toBe(true);
      expect(remembered?.buffer.byteLength).toBe(32);
      // For contrast: the decoder's own result is a slice of Node's shared pool.
      expect(Buffer.from(claims.pay, 'base64').buffer.byteLength).toBeGreaterThan(32);
      const unfrozen = { exp: 1, pay: claims.pay };
      expect(checkTokenBinding(unfrozen, ['Bearer pool'])).toBeNull();
      expect(rememberedPayDigest(unfrozen)).toBeUndefined(); // a claim set that can change is never remembered
    });

    it('keeps each claim set to its own pay', () => {
      const first = Object.freeze({ exp: 1, pay: pay.toString('base64') });
      const second = Object.freeze({ exp: 1, pay: sha('Bearer xyz').toString('base64') });
      for (let round = 0; round < 2; round++) {
        expect(checkTokenBinding(first, ['Bearer abc'])).toBeNull();
        expect(checkTokenBinding(second, ['Bearer abc'])).toBe('binding_mismatch');
        expect(checkTokenBinding(second, ['Bearer xyz'])).toBeNull();
        expect(checkTokenBinding(first, ['Bearer xyz'])).toBe('binding_mismatch');
      }
    });
  });
});
