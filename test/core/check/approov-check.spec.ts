import { jest } from '@jest/globals';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { resolveApproovConfig, type ApproovCoreOptions } from '../../../src/core/approov-config.js';
import {
  ApproovCheck,
  type ApproovRouteRules,
  type ApproovVerdict,
} from '../../../src/core/check/approov-check.js';
import type { ApproovLogLevel } from '../../../src/core/check/log.js';
import { ApproovConfigurationError } from '../../../src/core/errors.js';
import type { ApproovFailure } from '../../../src/core/failure.js';
import type { ReplayStore } from '../../../src/core/replay/replay-store.js';
import { requestWith } from '../../support/core-request.js';

// The serve-or-reject decision without Nest: one call per request, one verdict, the reject
// reported through the log callback and onFailure.

const secret = createApproovSecret();
const AUTHORIZATION = 'Bearer session-1';
const TOKEN_ONLY: ApproovRouteRules = { bindingHeaders: [] };
const BOUND: ApproovRouteRules = { bindingHeaders: ['authorization'] };
const SIGNED: ApproovRouteRules = {
  bindingHeaders: [],
  signing: Object.freeze({ requireInstallationKey: true }),
};

function checkWith(options: ApproovCoreOptions = {}) {
  const lines: Array<[ApproovLogLevel, string]> = [];
  const failures: ApproovFailure[] = [];
  const check = new ApproovCheck(
    resolveApproovConfig(
      { secret, onFailure: (f: ApproovFailure) => failures.push(f), ...options },
      {},
    ),
    (level, message) => lines.push([level, message]),
  );
  return { check, lines, failures };
}

const withToken = (extra: Record<string, string> = {}, token = createApproovToken({ secret })) =>
  requestWith({ 'Approov-Token': token, ...extra });

/** The verdict, failing the test if the check answered with a Promise. */
function syncVerdict(verdict: ApproovVerdict | Promise<ApproovVerdict>): ApproovVerdict {
  expect(verdict).not.toBeInstanceOf(Promise);
  return verdict as ApproovVerdict;
}

describe('ApproovCheck: the verdict', () => {
  it('serves a valid token with its claims, synchronously', () => {
    const { check, lines, failures } = checkWith();
    const verdict = syncVerdict(check.check(withToken(), TOKEN_ONLY));
    expect(verdict).toEqual({
      ok: true,
      claims: expect.objectContaining({ exp: expect.any(Number) }),
    });
    expect(lines).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('rejects a request without a token with its code, and reports it once', () => {
    const { check, lines, failures } = checkWith();
    expect(syncVerdict(check.check(requestWith(), TOKEN_ONLY))).toEqual({
      ok: false,
      code: 'token_missing',
      serve: false,
    });
    expect(lines).toEqual([['warn', 'rejected token_missing http GET /orders']]);
    expect(failures).toEqual([
      {
        code: 'token_missing',
        context: 'http',
        method: 'GET',
        path: '/orders',
        monitored: false,
      },
    ]);
  });

  it('checks the binding the rules name', () => {
    const { check } = checkWith();
    const bound = createApproovToken({ secret, bind: AUTHORIZATION });
    expect(
      syncVerdict(check.check(withToken({ Authorization: AUTHORIZATION }, bound), BOUND)).ok,
    ).toBe(true);
    expect(
      syncVerdict(check.check(withToken({ Authorization: 'Bearer other' }, bound), BOUND)),
    ).toEqual({ ok: false, code: 'binding_mismatch', serve: false });
  });

  it('checks the message signature when the rules ask for one', () => {
    const { check } = checkWith();
    expect(syncVerdict(check.check(withToken(), SIGNED))).toEqual({
      ok: false,
      code: 'install_key_missing',
      serve: false,
    });
  });

  it('serves a failed request unchecked in monitor mode, reported as monitored', () => {
    const { check, lines, failures } = checkWith({ mode: 'monitor' });
    expect(syncVerdict(check.check(requestWith(), TOKEN_ONLY))).toEqual({
      ok: false,
      code: 'token_missing',
      serve: true,
    });
    expect(lines).toEqual([['warn', 'monitor: would reject token_missing http GET /orders']]);
    expect(failures[0]).toMatchObject({ monitored: true });
  });

  it('serves a request without a token whose Approov-Status the module or the route allows', () => {
    const { check, failures } = checkWith({ allowApproovStatus: ['no_network'] });
    const offline = () => requestWith({ 'Approov-Status': 'no_network' });
    expect(syncVerdict(check.check(offline(), TOKEN_ONLY))).toMatchObject({ serve: true });
    const poor = () => requestWith({ 'Approov-Status': 'poor_network' });
    expect(syncVerdict(check.check(poor(), TOKEN_ONLY))).toMatchObject({ serve: false });
    expect(
      syncVerdict(check.check(poor(), { ...TOKEN_ONLY, allowStatuses: ['poor_network'] })),
    ).toMatchObject({ serve: true });
    expect(failures.map((f) => [f.approovStatus, f.allowedByStatus])).toEqual([
      ['no_network', true],
      ['poor_network', undefined],
      ['poor_network', true],
    ]);
  });

  it('reads an SDK status sent in the token header as token_status, logged with that status only', () => {
    const { check, lines, failures } = checkWith({ allowApproovStatus: ['no_network'] });
    const inHeader = (status: string) => withToken({}, status);
    expect(syncVerdict(check.check(inHeader('NO_NETWORK'), TOKEN_ONLY))).toMatchObject({
      code: 'token_status',
      serve: true,
    });
    expect(syncVerdict(check.check(inHeader('MITM_DETECTED'), TOKEN_ONLY))).toMatchObject({
      code: 'token_status',
      serve: false,
    });
    expect(failures.map((f) => [f.code, f.approovStatus, f.allowedByStatus])).toEqual([
      ['token_status', 'no_network', true],
      ['token_status', 'mitm_detected', undefined],
    ]);
    expect(lines.map(([, message]) => message)).toEqual([
      'allowed by status token_status http GET /orders status=no_network',
      'rejected token_status http GET /orders status=mitm_detected',
    ]);
  });

  it('never lets an Approov-Status through with a bad token', () => {
    const { check } = checkWith({ allowApproovStatus: ['no_network'] });
    const request = withToken({ 'Approov-Status': 'no_network' }, 'not.a.token');
    expect(syncVerdict(check.check(request, TOKEN_ONLY))).toMatchObject({
      code: 'token_malformed',
      serve: false,
    });
  });

  it('writes no token and no bound value to the log', () => {
    const { check, lines } = checkWith({ rejectLog: { lines: 'every' } });
    const token = createApproovToken({ secret, bind: AUTHORIZATION });
    check.check(withToken({ Authorization: 'Bearer leaked-session' }, token), BOUND);
    check.check(withToken({}, `${token}x`), TOKEN_ONLY);
    const text = lines.map(([, message]) => message).join('\n');
    expect(lines).toHaveLength(2);
    expect(text).not.toContain(token.slice(0, 20));
    expect(text).not.toContain('leaked-session');
  });
});

describe('ApproovCheck: one request judged twice', () => {
  it('does not verify again for rules it already passed, and gives the same claims', () => {
    const { check } = checkWith();
    const request = withToken();
    const first = syncVerdict(check.check(request, TOKEN_ONLY));
    const verify = jest.spyOn(check.verifier, 'verifyRequestWithRefetch');
    try {
      expect(check.check(request, { bindingHeaders: TOKEN_ONLY.bindingHeaders })).toBe(first);
      expect(verify).not.toHaveBeenCalled();
      check.check(request, SIGNED);
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });

  it('lets no pass of another check vouch for this one', () => {
    const other = checkWith().check;
    const { check } = checkWith({ secret: createApproovSecret() });
    const request = withToken();
    expect(syncVerdict(other.check(request, TOKEN_ONLY)).ok).toBe(true);
    expect(syncVerdict(check.check(request, TOKEN_ONLY))).toMatchObject({
      code: 'token_signature_invalid',
    });
  });

  it('reports a monitored failure once, however many times the request is judged', () => {
    const { check, failures, lines } = checkWith({ mode: 'monitor' });
    const request = requestWith();
    check.check(request, TOKEN_ONLY);
    check.check(request, BOUND);
    expect(failures).toHaveLength(1);
    expect(lines).toHaveLength(1);
  });
});

describe('ApproovCheck: lifecycle', () => {
  const storeWith = (health: () => Promise<boolean>) => {
    const close = jest.fn(async () => undefined);
    const store: ReplayStore = { rememberIfAbsent: () => true, checkHealth: health, close };
    return { store, close };
  };

  it('starts with nothing to fetch when no jwksUri is set', async () => {
    await expect(checkWith().check.start()).resolves.toBeUndefined();
  });

  it('refuses to start when the key set cannot load, naming jwksUri, and logs why', async () => {
    const { check, lines } = checkWith({ jwksUri: 'http://127.0.0.1:1/jwks.json' });
    const started = check.start();
    await expect(started).rejects.toBeInstanceOf(ApproovConfigurationError);
    await expect(started).rejects.toThrow(/option "jwksUri".*could not be loaded at boot/);
    expect(lines).toEqual([['warn', expect.stringMatching(/^keyset fetch failed: /)]]);
    check.stop();
  });

  it('starts anyway when keyset.requireAtBoot is false', async () => {
    const { check } = checkWith({
      jwksUri: 'http://127.0.0.1:1/jwks.json',
      keyset: { requireAtBoot: false },
    });
    await expect(check.start()).resolves.toBeUndefined();
    check.stop();
  });

  it('gives the keyset status with a jwksUri, none without', async () => {
    const { check } = checkWith({
      jwksUri: 'http://127.0.0.1:1/jwks.json',
      keyset: { requireAtBoot: false },
    });
    await check.start();
    expect(check.keysetStatus()).toMatchObject({ state: 'not_loaded', usable: false });
    check.stop();
    expect(checkWith().check.keysetStatus()).toBeUndefined();
  });

  it('answers the store health, warns at boot when its check fails, and closes it at shutdown', async () => {
    const { store, close } = storeWith(() => Promise.reject(new Error('down')));
    const { check, lines } = checkWith({ replay: { store } });
    await expect(check.checkReplayStoreHealth()).rejects.toThrow('down');
    check.warnWhenReplayStoreDown();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([['warn', 'replay store: its health check failed at startup.']]);
    await check.close();
    expect(close).toHaveBeenCalledTimes(1);
  });

  it("names a call's own route, and a failed-open request's, in the summary line", async () => {
    const { check, lines } = checkWith({ rejectLog: { lines: 'summary', intervalSec: 60 } });
    for (let i = 0; i < 7; i++)
      check.reporter.reportReject('token_missing', requestWith(), [], {
        context: 'ws',
        key: {},
        method: 'WS',
        path: 'chat',
      });
    for (let i = 0; i < 6; i++)
      check.reporter.reportFailedOpen(requestWith({ 'Approov-TraceID': 'trace-9' }));
    const before = lines.length;
    await check.close();
    expect(lines.slice(before)).toEqual([
      ['warn', expect.stringMatching(/; top routes: WS chat ×2; top clients: unknown ×2$/)],
      [
        'warn',
        expect.stringMatching(
          /^replay_store_unavailable: 1 more .*; top routes: GET \/orders ×1; top clients: unknown ×1; top traces: trace-9 ×1$/,
        ),
      ],
    ]);
  });

  it('writes the reject counts it still holds when it closes', async () => {
    const { check, lines } = checkWith({ rejectLog: { lines: 'summary', intervalSec: 60 } });
    for (let i = 0; i < 8; i++) check.check(requestWith(), TOKEN_ONLY);
    const before = lines.length;
    await check.close();
    expect(lines.slice(before)).toEqual([
      ['warn', expect.stringMatching(/^token_missing: 3 more in the last \d+ s/)],
    ]);
  });
});
