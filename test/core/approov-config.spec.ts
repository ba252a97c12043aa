import { randomBytes } from 'node:crypto';
import { ApproovConfigurationError } from '../../src/core/errors.js';
import {
  DEFAULT_BINDING_HEADERS,
  DEFAULT_TOKEN_HEADER,
  MAX_CLOCK_TOLERANCE_SEC,
  resolveApproovConfig,
  type ApproovCoreOptions,
} from '../../src/core/approov-config.js';
import { MAX_MAX_BODY_BYTES } from '../../src/core/http/raw-body.js';

// Every option is validated once, at boot; a bad one names itself.

const SECRET = randomBytes(32).toString('base64');
const NO_ENV = {};
const resolve = (options: ApproovCoreOptions) =>
  resolveApproovConfig({ secret: SECRET, ...options }, NO_ENV);

function expectOptionRefused(options: ApproovCoreOptions, option: string): void {
  let caught: unknown;
  try {
    resolve(options);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ApproovConfigurationError);
  expect((caught as Error).message).toContain(`"${option}"`);
  expect((caught as Error).message).not.toContain(SECRET);
}

describe('resolveApproovConfig: defaults', () => {
  const config = resolve({});

  it(`reads the token from ${DEFAULT_TOKEN_HEADER}`, () => {
    expect(config.verifier.tokenHeader).toBe('Approov-Token');
  });

  it('binds to Authorization by default, lower-cased', () => {
    expect(DEFAULT_BINDING_HEADERS).toEqual(['Authorization']);
    expect(config.bindingHeaders).toEqual(['authorization']);
  });

  it('enforces by default', () => {
    expect(config.mode).toBe('enforce');
  });

  it('has no clock tolerance, no issuer, no audience and requires pay on bound routes', () => {
    expect(config.verifier.clockToleranceSec).toBe(0);
    expect(config.verifier.issuer).toBeUndefined();
    expect(config.verifier.audience).toBeUndefined();
    expect(config.verifier.allowMissingBindingClaim).toBe(false);
  });

  it('builds one key per secret', () => {
    expect(config.verifier.keyring.allSecrets).toHaveLength(1);
    expect(
      resolve({ secret: [SECRET, randomBytes(40).toString('base64url')] }).verifier.keyring
        .allSecrets,
    ).toHaveLength(2);
  });
});

describe('resolveApproovConfig: accepted values', () => {
  it('keeps a custom token header', () => {
    expect(resolve({ tokenHeader: 'X-Approov-Token' }).verifier.tokenHeader).toBe(
      'X-Approov-Token',
    );
  });

  it('keeps binding headers in order, lower-cased', () => {
    expect(resolve({ bindingHeaders: ['Authorization', 'SessionId'] }).bindingHeaders).toEqual([
      'authorization',
      'sessionid',
    ]);
  });

  it('accepts monitor mode', () => {
    expect(resolve({ mode: 'monitor' }).mode).toBe('monitor');
  });

  it.each([0, 1.5, MAX_CLOCK_TOLERANCE_SEC])('accepts clockToleranceSec %p', (value) => {
    expect(resolve({ clockToleranceSec: value }).verifier.clockToleranceSec).toBe(value);
  });

  it('accepts issuer and audience as a string or a list', () => {
    expect(resolve({ issuer: 'a', audience: ['b', 'c'] }).verifier).toMatchObject({
      issuer: 'a',
      audience: ['b', 'c'],
    });
  });

  it('accepts allowMissingBindingClaim and an onFailure function', () => {
    expect(
      resolve({ allowMissingBindingClaim: true, onFailure: () => undefined }).verifier
        .allowMissingBindingClaim,
    ).toBe(true);
  });
});

describe('resolveApproovConfig: maxBodyBytes', () => {
  it("defaults to undefined: the adapter's own limit applies", () => {
    expect(resolve({}).maxBodyBytes).toBeUndefined();
  });

  it.each([1, 65_536, MAX_MAX_BODY_BYTES])('accepts %p', (value) => {
    expect(resolve({ maxBodyBytes: value }).maxBodyBytes).toBe(value);
  });
});

describe('resolveApproovConfig: refused values name their option', () => {
  it.each<[string, ApproovCoreOptions]>([
    ['tokenHeader', { tokenHeader: '' }],
    ['tokenHeader', { tokenHeader: 'Approov Token' }],
    ['tokenHeader', { tokenHeader: 'Approov-Token:' }],
    ['tokenHeader', { tokenHeader: 42 }],
    ['tokenHeader', { tokenHeader: ['Approov-Token'] }],
    ['bindingHeaders', { bindingHeaders: [] }],
    ['bindingHeaders', { bindingHeaders: 'Authorization' }],
    ['bindingHeaders', { bindingHeaders: ['Authorization', 'Session Id'] }],
    ['bindingHeaders', { bindingHeaders: [''] }],
    ['bindingHeaders', { bindingHeaders: [42] }],
    ['mode', { mode: 'report' }],
    ['mode', { mode: 'ENFORCE' }],
    ['mode', { mode: true }],
    ['clockToleranceSec', { clockToleranceSec: -1 }],
    ['clockToleranceSec', { clockToleranceSec: MAX_CLOCK_TOLERANCE_SEC + 1 }],
    ['clockToleranceSec', { clockToleranceSec: Number.NaN }],
    ['clockToleranceSec', { clockToleranceSec: Number.POSITIVE_INFINITY }],
    ['clockToleranceSec', { clockToleranceSec: '30' }],
    ['issuer', { issuer: '' }],
    ['issuer', { issuer: [] }],
    ['issuer', { issuer: ['ok', 1] }],
    ['issuer', { issuer: 42 }],
    ['audience', { audience: '' }],
    ['audience', { audience: [] }],
    ['audience', { audience: [''] }],
    ['audience', { audience: { aud: 'x' } }],
    ['allowMissingBindingClaim', { allowMissingBindingClaim: 'true' }],
    ['allowMissingBindingClaim', { allowMissingBindingClaim: 1 }],
    ['onFailure', { onFailure: 'log' }],
    ['onFailure', { onFailure: {} }],
    ['maxBodyBytes', { maxBodyBytes: 0 }],
    ['maxBodyBytes', { maxBodyBytes: -1 }],
    ['maxBodyBytes', { maxBodyBytes: 1.5 }],
    ['maxBodyBytes', { maxBodyBytes: MAX_MAX_BODY_BYTES + 1 }],
    ['maxBodyBytes', { maxBodyBytes: '1mb' }],
  ])('refuses a bad %s (%p)', (option, options) => {
    expectOptionRefused(options, option);
  });

  it('checks the secret first: a bad secret is reported even when other options are bad too', () => {
    expect(() => resolveApproovConfig({ tokenHeader: '', mode: 'x' }, NO_ENV)).toThrow(
      /APPROOV_BASE64_SECRET/,
    );
  });
});
