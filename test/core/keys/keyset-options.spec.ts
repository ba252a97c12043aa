import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ApproovConfigurationError } from '../../../src/core/errors.js';
import { resolveApproovConfig, type ApproovCoreOptions } from '../../../src/core/approov-config.js';
import { isLoopbackHost } from '../../../src/core/keys/keyset-options.js';

const SECRET = randomBytes(32).toString('base64');
const JWKS = 'https://keys.example.com/.well-known/jwks.json';
const resolve = (options: ApproovCoreOptions, env: Record<string, string> = {}) =>
  resolveApproovConfig(options, env);

function refusal(options: ApproovCoreOptions, env: Record<string, string> = {}): string {
  try {
    resolve(options, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ApproovConfigurationError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('keyset options at boot', () => {
  it('builds a keyring with the default algorithms, ES256 and RS256, and no secret needed', () => {
    const config = resolve({ jwksUri: JWKS });
    expect(config.keysetOptions).toMatchObject({
      algorithms: ['ES256', 'RS256'],
      requireAtBoot: true,
      ttlSec: 600,
    });
    expect(config.verifier.keyring.allSecrets).toEqual([]);
    expect(config.verifier.keyring?.keyset).toBe(config.keyset);
  });

  it('takes the secret too when both are set, from the option or the environment', () => {
    expect(resolve({ jwksUri: JWKS, secret: SECRET }).verifier.keyring?.allSecrets).toHaveLength(1);
    expect(
      resolve({ jwksUri: JWKS }, { APPROOV_BASE64_SECRET: SECRET }).verifier.keyring?.allSecrets,
    ).toHaveLength(1);
  });

  it('still requires a secret without jwksUri', () => {
    expect(refusal({})).toContain('secret');
  });

  it.each([
    ['http://keys.example.com/jwks', 'must use https'],
    ['ftp://keys.example.com/jwks', 'must be an https URL'],
    ['not a url', 'is not a valid URL'],
    ['https://user:pass@keys.example.com/jwks', 'credentials'],
    [42, 'https URL string'],
  ])('refuses jwksUri %p, naming the option', (jwksUri, why) => {
    const message = refusal({ jwksUri });
    expect(message).toContain('"jwksUri"');
    expect(message).toContain(why);
    expect(message).not.toContain('pass');
  });

  it.each([
    'http://127.0.0.1:8080/jwks',
    'http://localhost/jwks',
    'http://[::1]:9/jwks',
    'http://127.9.9.9/jwks',
  ])('accepts plain http to the loopback host of %s', (jwksUri) => {
    expect(resolve({ jwksUri }).keysetOptions?.uri.href).toBe(new URL(jwksUri).href);
  });

  it('does not take a name that merely starts like loopback for loopback', () => {
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
    expect(isLoopbackHost('localhost.evil.example')).toBe(false);
  });

  it.each([
    [['HS256'], 'HS256 is accepted with the "secret" option alone'],
    [['none'], 'may hold only'],
    [['ES384'], 'may hold only'],
    [[], 'non-empty array'],
    ['ES256', 'non-empty array'],
  ])('refuses algorithms %p', (algorithms, why) => {
    const message = refusal({ jwksUri: JWKS, algorithms });
    expect(message).toContain('"algorithms"');
    expect(message).toContain(why);
  });

  it('accepts PS256 and EdDSA when listed', () => {
    expect(
      resolve({ jwksUri: JWKS, algorithms: ['PS256', 'EdDSA'] }).keysetOptions?.algorithms,
    ).toEqual(['PS256', 'EdDSA']);
  });

  it('refuses algorithms or keyset without jwksUri', () => {
    expect(refusal({ secret: SECRET, algorithms: ['ES256'] })).toContain(
      '"algorithms" needs "jwksUri"',
    );
    expect(refusal({ secret: SECRET, keyset: {} })).toContain('"keyset" needs "jwksUri"');
  });

  it.each([
    [{ ttlSec: 0 }, 'keyset.ttlSec'],
    [{ timeoutMs: 60_000 }, 'keyset.timeoutMs'],
    [{ maxResponseBytes: 'big' }, 'keyset.maxResponseBytes'],
    [{ cooldownSec: 0 }, 'keyset.cooldownSec'],
    [{ maxStaleSec: -1 }, 'keyset.maxStaleSec'],
    [{ requireAtBoot: 'yes' }, 'keyset.requireAtBoot'],
    [{ ttl: 5 }, 'keyset.ttl'],
  ])('refuses keyset %p, naming the field', (keyset, option) => {
    expect(refusal({ jwksUri: JWKS, keyset })).toContain(`"${option}"`);
  });

  it('refuses issuer and audience that are not non-empty strings', () => {
    expect(refusal({ jwksUri: JWKS, issuer: '' })).toContain('"issuer"');
    expect(refusal({ jwksUri: JWKS, audience: [1] })).toContain('"audience"');
  });
});

describe('keyset settings from the environment', () => {
  it('reads APPROOV_JWKS_URI, APPROOV_ISSUER and APPROOV_AUDIENCE when the options are not given', () => {
    const config = resolve(
      {},
      { APPROOV_JWKS_URI: JWKS, APPROOV_ISSUER: 'https://i', APPROOV_AUDIENCE: 'a' },
    );
    expect(config.keysetOptions?.uri.href).toBe(JWKS);
    expect(config.jwksSetting).toBe('APPROOV_JWKS_URI');
    expect(config.verifier).toMatchObject({ issuer: 'https://i', audience: 'a' });
  });

  it('prefers the options to the environment', () => {
    const config = resolve(
      { jwksUri: JWKS, issuer: 'https://option' },
      { APPROOV_JWKS_URI: 'http://bad.example/', APPROOV_ISSUER: 'https://env' },
    );
    expect(config.jwksSetting).toBe('option "jwksUri"');
    expect(config.verifier.issuer).toBe('https://option');
  });

  it.each([
    [{ APPROOV_JWKS_URI: 'http://keys.example.com/' }, 'Approov APPROOV_JWKS_URI must use https'],
    [{ APPROOV_JWKS_URI: JWKS, APPROOV_ISSUER: '' }, 'Approov APPROOV_ISSUER must be'],
    [{ APPROOV_JWKS_URI: JWKS, APPROOV_AUDIENCE: '' }, 'Approov APPROOV_AUDIENCE must be'],
  ])('names the variable of a bad value: %p', (env, message) => {
    expect(refusal({}, env)).toContain(message);
  });
});

describe('secrets with key ids at boot', () => {
  it('builds a keyring when a secret has a kid', () => {
    const config = resolve({ secret: [{ kid: 'k1', value: SECRET }] });
    expect(config.verifier.keyring?.secretsFor('k1')).toHaveLength(1);
    expect(config.verifier.keyring?.secretsFor('k2')).toBeNull();
  });

  it('lets no key id choose the key when no secret has an id', () => {
    const keyring = resolve({ secret: SECRET }).verifier.keyring;
    expect(keyring.selectsByKeyId).toBe(false);
    expect(keyring.secretsFor(undefined)).toEqual(keyring.allSecrets);
  });

  it.each([
    [[{ kid: '', value: SECRET }], 'secret option.kid'],
    [[{ value: SECRET }], 'secret option.kid'],
    [
      [
        { kid: 'a', value: SECRET },
        { kid: 'a', value: SECRET },
      ],
      'repeats',
    ],
    [[{ kid: 'a', value: 'short' }], 'secret option.value'],
  ])('refuses %p, naming the entry', (secret, why) => {
    const message = refusal({ secret });
    expect(message).toContain(why);
    expect(message).not.toContain(SECRET);
  });
});
