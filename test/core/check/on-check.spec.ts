import {
  createApproovSecret,
  createApproovToken,
  createApproovInstallationKey,
  signApproovRequest,
} from 'nestjs-approov/testing';
import { resolveApproovConfig, type ApproovCoreOptions } from '../../../src/core/approov-config.js';
import { ApproovCheck, type ApproovRouteRules } from '../../../src/core/check/approov-check.js';
import type { ApproovCheckReport } from '../../../src/core/check/check-report.js';
import type { ApproovLogLevel } from '../../../src/core/check/log.js';
import type { ApproovRequestLike } from '../../../src/core/http/request.js';
import type { ReplayStore } from '../../../src/core/replay/replay-store.js';
import { requestWith } from '../../support/core-request.js';

// The onCheck hook without Nest: one report per check that runs, with its outcome, code, context,
// the signature labels verified and its duration; never a secret-bearing value; a hook that throws
// changes nothing.

const secret = createApproovSecret();
const { privateKey, ipk } = createApproovInstallationKey();
const DID = 'device-did-on-check-0001';
const TOKEN_ONLY: ApproovRouteRules = { bindingHeaders: [] };
const SIGNED: ApproovRouteRules = {
  bindingHeaders: [],
  signing: Object.freeze({ requireInstallationKey: true }),
};

function checkWith(options: ApproovCoreOptions = {}, onCheck?: (r: ApproovCheckReport) => void) {
  const lines: Array<[ApproovLogLevel, string]> = [];
  const reports: ApproovCheckReport[] = [];
  const check = new ApproovCheck(
    resolveApproovConfig(
      { secret, onCheck: onCheck ?? ((r: ApproovCheckReport) => reports.push(r)), ...options },
      {},
    ),
    (level, message) => lines.push([level, message]),
  );
  return { check, lines, reports };
}

const tokenWithIpk = () => createApproovToken({ secret, claims: { did: DID, ipk } });

function signedRequest(token = tokenWithIpk()): ApproovRequestLike {
  const signature = signApproovRequest({
    privateKey,
    method: 'GET',
    url: 'http://127.0.0.1/orders?page=2',
    token,
  });
  return requestWith({ 'Approov-Token': token, ...signature });
}

const storeAnswering = (rememberIfAbsent: ReplayStore['rememberIfAbsent']): ReplayStore => ({
  rememberIfAbsent,
  checkHealth: async () => true,
  close: async () => undefined,
});

describe('ApproovCheck: the onCheck hook', () => {
  it('reports a pass with its context and duration, and no code', () => {
    const { check, reports } = checkWith();
    check.check(requestWith({ 'Approov-Token': createApproovToken({ secret }) }), TOKEN_ONLY);
    expect(reports).toEqual([
      {
        outcome: 'pass',
        context: 'http',
        messageSigning: [],
        durationSec: expect.any(Number),
        served: true,
      },
    ]);
    expect(reports[0]!.durationSec).toBeGreaterThanOrEqual(0);
    expect(reports[0]!.durationSec).toBeLessThan(60);
  });

  it('reports a reject with its code, served only in monitor mode', () => {
    const enforce = checkWith();
    enforce.check.check(requestWith(), TOKEN_ONLY);
    expect(enforce.reports).toEqual([
      expect.objectContaining({ outcome: 'reject', code: 'token_missing', served: false }),
    ]);
    const monitor = checkWith({ mode: 'monitor' });
    monitor.check.check(requestWith(), TOKEN_ONLY);
    expect(monitor.reports).toEqual([
      expect.objectContaining({ outcome: 'reject', code: 'token_missing', served: true }),
    ]);
  });

  it('names the labels whose signature verified', async () => {
    const { check, reports } = checkWith({
      replay: { store: storeAnswering(() => true) },
    });
    expect(await check.check(signedRequest(), SIGNED)).toEqual(
      expect.objectContaining({ ok: true }),
    );
    expect(reports).toEqual([
      expect.objectContaining({ outcome: 'pass', messageSigning: ['install'] }),
    ]);
  });

  it('reports `unavailable` when the server cannot decide (the replay store is down)', async () => {
    const { check, reports } = checkWith({
      replay: { store: storeAnswering(() => Promise.reject(new Error('down'))) },
    });
    expect(await check.check(signedRequest(), SIGNED)).toEqual(
      expect.objectContaining({ ok: false, code: 'replay_store_unavailable' }),
    );
    expect(reports).toEqual([
      expect.objectContaining({
        outcome: 'unavailable',
        code: 'replay_store_unavailable',
        messageSigning: [],
        served: false,
      }),
    ]);
  });

  it("reports a call that cannot be checked in the call's own context", () => {
    const { check, reports } = checkWith();
    check.reportUncheckable(requestWith(), {
      context: 'rpc',
      key: {},
      method: 'RPC',
      path: 'Orders.list',
    });
    expect(reports).toEqual([
      expect.objectContaining({ outcome: 'reject', code: 'context_unsupported', context: 'rpc' }),
    ]);
  });

  it('does not report a pass taken from the call again: no check ran', () => {
    const { check, reports } = checkWith();
    const request = requestWith({ 'Approov-Token': createApproovToken({ secret }) });
    check.check(request, TOKEN_ONLY);
    check.check(request, TOKEN_ONLY);
    expect(reports).toHaveLength(1);
  });

  it('keeps the verdict when the hook throws, and logs only the error name', () => {
    const message = 'hook failed with a detail';
    const { check, lines } = checkWith({}, () => {
      throw new TypeError(message);
    });
    const token = createApproovToken({ secret });
    expect(check.check(requestWith({ 'Approov-Token': token }), TOKEN_ONLY)).toEqual(
      expect.objectContaining({ ok: true }),
    );
    expect(check.check(requestWith(), TOKEN_ONLY)).toEqual({
      ok: false,
      code: 'token_missing',
      serve: false,
    });
    const errors = lines.filter(([level]) => level === 'error');
    expect(errors).toEqual([
      ['error', 'onCheck hook threw TypeError'],
      ['error', 'onCheck hook threw TypeError'],
    ]);
    expect(JSON.stringify(lines)).not.toContain(message);
  });

  it('holds no token, did, key or signature in what it reports', async () => {
    const { check, reports } = checkWith({ replay: { store: storeAnswering(() => true) } });
    const token = tokenWithIpk();
    const request = signedRequest(token);
    await check.check(request, SIGNED);
    check.check(requestWith({ 'Approov-Token': `${token}x` }), TOKEN_ONLY);
    const text = JSON.stringify(reports);
    expect(reports.map((r) => r.outcome)).toEqual(['pass', 'reject']);
    for (const value of [token, DID, ipk, secret, ...(request.rawHeaders as string[]).slice(2)])
      expect(text).not.toContain(value);
  });

  it('rejects an onCheck that is not a function at boot, naming it', () => {
    expect(() => resolveApproovConfig({ secret, onCheck: 'metrics' }, {})).toThrow(/"onCheck"/);
  });
});
