import { parseApproovSecrets } from '../../../src/core/keys/secret.js';
import { ApproovVerifier } from '../../../src/core/token/verifier.js';
import { MessageSignatureVerifier } from '../../../src/core/message-signing/verify.js';
import {
  resolveAccountSigningKeys,
  resolveApproovConfig,
} from '../../../src/core/approov-config.js';
import {
  checkMessageSigningOptions,
  resolveMessageSigningOptions,
} from '../../../src/core/message-signing/options.js';
import type { SignedRequestSource } from '../../../src/core/message-signing/request-target.js';
import {
  ACCOUNT_KEY,
  buildProfileRequest,
  PROFILE_ROUTES,
  profileCases,
  TOKEN_SECRET,
  type ProfileRequest,
  type ProfileRoute,
} from '../../support/client-profiles.js';

// The corpus of what Approov's SDKs send by default, and tampered variants, judged by the core
// exactly as the guard composes it: token first, then the route's signatures.

const NOW = 1_800_000_000;
const AUTHORITY = '127.0.0.1:3000';
const cases = profileCases();
const tokens = new ApproovVerifier({
  ...resolveApproovConfig({ secret: TOKEN_SECRET }, {}).verifier,
  now: () => NOW,
});
const signatures = new MessageSignatureVerifier(resolveAccountSigningKeys(ACCOUNT_KEY));

function toSource(request: ProfileRequest): SignedRequestSource {
  return {
    method: request.method,
    target: request.path,
    encrypted: false,
    rawHeaders: request.lines.flat(),
    rawBody: request.body === undefined ? undefined : Buffer.from(request.body),
  };
}

function judge(request: ProfileRequest, route: ProfileRoute, verifier = signatures): string {
  const source = toSource(request);
  const token = tokens.verifyRequest(source);
  if (!token.ok) return token.code;
  const routeOptions = checkMessageSigningOptions(PROFILE_ROUTES[route], 'route', (option, why) => {
    throw new Error(`${option} ${why}`);
  });
  const result = verifier.verify(
    source,
    token.claims,
    resolveMessageSigningOptions('Approov-Token', 0, routeOptions),
    NOW,
  );
  return result.ok ? 'accept' : result.code;
}

describe('the client-profile corpus (core)', () => {
  it('holds every SDK default and its tampered variants', () => {
    expect(cases.filter((entry) => entry.tamper === undefined).length).toBeGreaterThanOrEqual(12);
    expect(cases.filter((entry) => entry.tamper !== undefined).length).toBeGreaterThanOrEqual(14);
  });

  describe.each<ProfileRoute>(['default', 'strict', 'account'])('on the %s route', (route) => {
    it.each(cases.map((entry) => [entry.name, entry] as const))('%s', (_name, entry) => {
      expect(judge(buildProfileRequest(entry, route, AUTHORITY, NOW), route)).toBe(
        entry.verdicts[route],
      );
    });
  });

  it('accepts every SDK default on the default route', () => {
    const defaults = cases.filter(
      (entry) => entry.tamper === undefined && entry.profile.token !== 'absent',
    );
    for (const entry of defaults)
      expect([
        entry.name,
        judge(buildProfileRequest(entry, 'default', AUTHORITY, NOW), 'default'),
      ]).toEqual([entry.name, 'accept']);
  });

  it('rejects account signatures on a server without the account key, naming why', () => {
    const entry = cases.find(
      (one) => one.profile.labels.includes('account') && one.tamper === undefined,
    )!;
    const keyless = new MessageSignatureVerifier();
    expect(judge(buildProfileRequest(entry, 'account', AUTHORITY, NOW), 'account', keyless)).toBe(
      'account_key_not_configured',
    );
    expect(judge(buildProfileRequest(entry, 'default', AUTHORITY, NOW), 'default', keyless)).toBe(
      'accept',
    );
  });
});

describe('the account message-signing key', () => {
  it('is optional: no option and no variable means no key', () => {
    expect(resolveAccountSigningKeys(undefined, {})).toEqual([]);
  });

  it('is read from APPROOV_MESSAGE_SIGNING_KEY when the option is not given', () => {
    expect(
      resolveAccountSigningKeys(undefined, { APPROOV_MESSAGE_SIGNING_KEY: ACCOUNT_KEY }),
    ).toHaveLength(1);
  });

  it.each<[string, unknown, Record<string, string>, RegExp]>([
    ['too short', 'c2hvcnQ=', {}, /messageSigningKey option decodes to 5 bytes/],
    [
      'not canonical base64',
      `${ACCOUNT_KEY.slice(0, -2)}!=`,
      {},
      /messageSigningKey option is not canonical/,
    ],
    [
      'an empty variable',
      undefined,
      { APPROOV_MESSAGE_SIGNING_KEY: '' },
      /APPROOV_MESSAGE_SIGNING_KEY is set but empty/,
    ],
    [
      'a short variable',
      undefined,
      { APPROOV_MESSAGE_SIGNING_KEY: 'c2hvcnQ=' },
      /APPROOV_MESSAGE_SIGNING_KEY decodes to 5 bytes/,
    ],
  ])('stops the boot when %s, without echoing the value', (_case, option, env, message) => {
    expect(() => resolveAccountSigningKeys(option, env)).toThrow(message);
    try {
      resolveAccountSigningKeys(option, env);
    } catch (error) {
      expect((error as Error).message).not.toContain('c2hvcnQ');
    }
  });

  it('uses the same parser as the token secret (rotation lists included)', () => {
    const keys = resolveAccountSigningKeys([ACCOUNT_KEY, TOKEN_SECRET], {});
    expect(keys.map((key) => key.symmetricKeySize)).toEqual(
      parseApproovSecrets({ value: [ACCOUNT_KEY, TOKEN_SECRET], setting: 'x' }).map(
        (key) => key.symmetricKeySize,
      ),
    );
  });
});
