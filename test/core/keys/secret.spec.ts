import { randomBytes } from 'node:crypto';
import { ApproovConfigurationError } from '../../../src/core/errors.js';
import {
  MIN_SECRET_BYTES,
  parseApproovSecrets,
  resolveSecretSource,
} from '../../../src/core/keys/secret.js';
import { resolveApproovConfig } from '../../../src/core/approov-config.js';

// The secret: fail closed at boot, with a message naming the setting, never the value.

const BYTES = randomBytes(64);
const BASE64 = BYTES.toString('base64');
const NO_ENV = {};

const keyBytes = (value: unknown) =>
  parseApproovSecrets({ value, setting: 'secret option' }).map((key) => key.export());

/** Throws ApproovConfigurationError naming `setting`, and leaks neither the value nor its bytes. */
function expectRefused(
  run: () => unknown,
  setting: string | RegExp,
  value?: string,
): ApproovConfigurationError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ApproovConfigurationError);
  const message = (caught as Error).message;
  if (typeof setting === 'string') expect(message).toContain(setting);
  else expect(message).toMatch(setting);
  if (value !== undefined) expectNoLeak(message, value);
  return caught as ApproovConfigurationError;
}

/** Neither the text, nor any 12-character piece of it, nor the hex of its decoded bytes. */
function expectNoLeak(message: string, value: string): void {
  const core = value.trim();
  if (core.length >= 12) {
    for (let start = 0; start + 12 <= core.length; start += 1)
      expect(message).not.toContain(core.slice(start, start + 12));
  }
  const decoded = Buffer.from(core, 'base64');
  if (decoded.length >= 6)
    expect(message.toLowerCase()).not.toContain(decoded.subarray(0, 6).toString('hex'));
}

describe('parseApproovSecrets: accepted forms', () => {
  it('accepts padded standard base64, as `approov secret -get base64` prints it', () => {
    expect(keyBytes(BASE64)).toEqual([BYTES]);
  });

  it('accepts unpadded standard base64', () => {
    const secret = randomBytes(32);
    const text = secret.toString('base64').replace(/=+$/, '');
    expect(text).not.toMatch(/=/);
    expect(keyBytes(text)).toEqual([secret]);
  });

  it('accepts unpadded base64url, as `approov secret -get base64url` prints it', () => {
    expect(keyBytes(BYTES.toString('base64url'))).toEqual([BYTES]);
  });

  it('accepts padded base64url', () => {
    const secret = randomBytes(32);
    const text = `${secret.toString('base64url')}=`;
    expect(keyBytes(text)).toEqual([secret]);
  });

  it(`accepts exactly ${MIN_SECRET_BYTES} bytes`, () => {
    const secret = randomBytes(MIN_SECRET_BYTES);
    expect(keyBytes(secret.toString('base64'))).toEqual([secret]);
  });

  it('accepts a list of secrets for rotation, in order', () => {
    const second = randomBytes(48);
    expect(keyBytes([BASE64, second.toString('base64url')])).toEqual([BYTES, second]);
  });

  it('builds KeyObjects of type secret, once', () => {
    const [key] = parseApproovSecrets({ value: BASE64, setting: 'secret option' });
    expect(key!.type).toBe('secret');
    expect(key!.symmetricKeySize).toBe(64);
  });
});

describe('parseApproovSecrets: refused at boot, naming the setting, never echoing the value', () => {
  const short = randomBytes(MIN_SECRET_BYTES - 1).toString('base64');
  const strayBits = (() => {
    const text = randomBytes(64).toString('base64'); // 64 bytes: ends with "==", 4 unused bits
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = text.at(-3)!;
    return text.slice(0, -3) + alphabet[alphabet.indexOf(last) | 1] + '==';
  })();

  it.each([
    ['empty', ''],
    ['the base64 placeholder', 'approov_base64_secret_here'],
    ['the base64url placeholder', 'approov_base64url_secret_here'],
    ['the placeholder with spaces and capitals', '  APPROOV_BASE64_SECRET_HERE '],
    [`shorter than ${MIN_SECRET_BYTES} bytes`, short],
    ['all-zero bytes', Buffer.alloc(MIN_SECRET_BYTES).toString('base64')],
    ['one byte repeated', Buffer.alloc(64, 0xff).toString('base64url')],
    ['a PEM key', `-----BEGIN PUBLIC KEY-----\n${BASE64}\n-----END PUBLIC KEY-----`],
    ['a PEM private key', `-----BEGIN PRIVATE KEY-----${BASE64}-----END PRIVATE KEY-----`],
    ['a JWK', JSON.stringify({ kty: 'oct', k: BYTES.toString('base64url') })],
    [
      'a JWK after whitespace',
      `  ${JSON.stringify({ kty: 'oct', k: BYTES.toString('base64url') })}`,
    ],
    ['base64 with a line break', `${BASE64.slice(0, 40)}\n${BASE64.slice(40)}`],
    ['base64 with a leading space', ` ${BASE64}`],
    ['base64 with a trailing newline', `${BASE64}\n`],
    ['base64 with a junk character', `${BASE64.slice(0, 20)}!${BASE64.slice(21)}`],
    ['base64 with an inner "="', `${BASE64.slice(0, 20)}=${BASE64.slice(21)}`],
    ['base64 with wrong padding', `${BASE64.replace(/=+$/, '')}=`],
    ['base64 with extra padding', `${BASE64}=`],
    ['base64 with a length of 4n+1', `${BASE64.replace(/=+$/, '')}AAA`],
    ['base64 with stray trailing bits', strayBits],
    ['mixed base64 and base64url alphabets', `${BASE64.slice(0, 10)}-_+/${BASE64.slice(14)}`],
    ['hex text of the key', BYTES.subarray(0, 15).toString('hex')],
  ])('refuses a secret that is %s', (_name, value) => {
    expectRefused(
      () => parseApproovSecrets({ value, setting: 'secret option' }),
      'secret option',
      value,
    );
  });

  it('confirms Node would have silently accepted the junk it refuses', () => {
    // The reason for a strict decoder: Buffer.from() skips what it does not understand.
    expect(
      Buffer.from(`${BASE64.slice(0, 20)}!${BASE64.slice(21)}`, 'base64').length,
    ).toBeGreaterThan(0);
  });

  it.each([
    ['a number', 42],
    ['a boolean', true],
    ['an object', { secret: BASE64 }],
    ['a Buffer', BYTES],
  ])('refuses a secret that is %s', (_name, value) => {
    expectRefused(() => parseApproovSecrets({ value, setting: 'secret option' }), 'secret option');
  });

  it('refuses an empty list', () => {
    expectRefused(
      () => parseApproovSecrets({ value: [], setting: 'secret option' }),
      'secret option',
    );
  });

  it('refuses a list with one bad entry and names its index', () => {
    const error = expectRefused(
      () => parseApproovSecrets({ value: [BASE64, short], setting: 'secret option' }),
      'secret option[1]',
      short,
    );
    expectNoLeak(error.message, BASE64);
  });

  it('says how many bytes a short secret has, and the minimum', () => {
    const error = expectRefused(
      () => parseApproovSecrets({ value: short, setting: 'secret option' }),
      'secret option',
    );
    expect(error.message).toContain(String(MIN_SECRET_BYTES - 1));
    expect(error.message).toContain(String(MIN_SECRET_BYTES));
  });

  it('is an Error named ApproovConfigurationError', () => {
    const error = expectRefused(
      () => parseApproovSecrets({ value: '', setting: 'secret option' }),
      'secret option',
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ApproovConfigurationError');
  });
});

describe('resolveSecretSource: the option, then APPROOV_BASE64_SECRET, then APPROOV_BASE64URL_SECRET', () => {
  const urlSecret = randomBytes(32).toString('base64url');

  it('prefers the secret option over the environment', () => {
    expect(resolveSecretSource(BASE64, { APPROOV_BASE64_SECRET: urlSecret })).toEqual({
      value: BASE64,
      setting: 'secret option',
    });
  });

  it('falls back to APPROOV_BASE64_SECRET before APPROOV_BASE64URL_SECRET', () => {
    expect(
      resolveSecretSource(undefined, {
        APPROOV_BASE64_SECRET: BASE64,
        APPROOV_BASE64URL_SECRET: urlSecret,
      }),
    ).toEqual({ value: BASE64, setting: 'APPROOV_BASE64_SECRET' });
  });

  it('falls back to APPROOV_BASE64URL_SECRET alone', () => {
    expect(resolveSecretSource(undefined, { APPROOV_BASE64URL_SECRET: urlSecret })).toEqual({
      value: urlSecret,
      setting: 'APPROOV_BASE64URL_SECRET',
    });
  });

  it('treats a null option as not given', () => {
    expect(resolveSecretSource(null, { APPROOV_BASE64_SECRET: BASE64 }).setting).toBe(
      'APPROOV_BASE64_SECRET',
    );
  });

  it('does not fall through an empty string option to the environment', () => {
    expect(resolveSecretSource('', { APPROOV_BASE64_SECRET: BASE64 })).toEqual({
      value: '',
      setting: 'secret option',
    });
  });

  it('refuses to start without any secret, naming the option and both variables', () => {
    const error = expectRefused(() => resolveSecretSource(undefined, NO_ENV), '"secret"');
    expect(error.message).toContain('APPROOV_BASE64_SECRET');
    expect(error.message).toContain('APPROOV_BASE64URL_SECRET');
    expect(error.message).toContain('approov secret -get base64');
  });

  it('ignores unrelated variables', () => {
    expectRefused(
      () => resolveSecretSource(undefined, { APPROOV_SECRET: BASE64 }),
      'APPROOV_BASE64_SECRET',
    );
  });
});

describe('resolveApproovConfig: bad secrets from the environment name the variable', () => {
  it.each(['APPROOV_BASE64_SECRET', 'APPROOV_BASE64URL_SECRET'])(
    'names %s when it is empty',
    (name) => {
      expectRefused(() => resolveApproovConfig({}, { [name]: '' }), name);
    },
  );

  it.each(['APPROOV_BASE64_SECRET', 'APPROOV_BASE64URL_SECRET'])(
    'names %s when it holds the placeholder',
    (name) => {
      expectRefused(() => resolveApproovConfig({}, { [name]: 'approov_base64_secret_here' }), name);
    },
  );

  it('names APPROOV_BASE64URL_SECRET when it is too short, without its value', () => {
    const short = randomBytes(16).toString('base64url');
    expectRefused(
      () => resolveApproovConfig({}, { APPROOV_BASE64URL_SECRET: short }),
      'APPROOV_BASE64URL_SECRET',
      short,
    );
  });

  it('does not fall through an empty APPROOV_BASE64_SECRET to APPROOV_BASE64URL_SECRET', () => {
    expectRefused(
      () =>
        resolveApproovConfig(
          {},
          { APPROOV_BASE64_SECRET: '', APPROOV_BASE64URL_SECRET: BYTES.toString('base64url') },
        ),
      'APPROOV_BASE64_SECRET',
    );
  });

  it('builds keys from APPROOV_BASE64URL_SECRET when it is the only one set', () => {
    const config = resolveApproovConfig(
      {},
      { APPROOV_BASE64URL_SECRET: BYTES.toString('base64url') },
    );
    expect(config.verifier.keyring.allSecrets.map((key) => key.export())).toEqual([BYTES]);
  });

  it('names the secret option, not the variable, when the option is given and bad', () => {
    expectRefused(
      () =>
        resolveApproovConfig(
          { secret: 'approov_base64_secret_here' },
          { APPROOV_BASE64_SECRET: BASE64 },
        ),
      'secret option',
    );
  });
});
