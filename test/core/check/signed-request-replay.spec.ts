import { SignedRequestReplayCheck } from '../../../src/core/check/signed-request-replay.js';
import type { ApproovLogLevel } from '../../../src/core/check/log.js';
import type { MessageSignatureResult } from '../../../src/core/message-signing/verify.js';
import type { ReplayStore } from '../../../src/core/replay/replay-store.js';

const lines: Array<[ApproovLogLevel, string]> = [];
const log = (level: ApproovLogLevel, message: string) => lines.push([level, message]);
beforeEach(() => (lines.length = 0));

describe('the in-memory store in a cluster worker', () => {
  const options = {
    store: undefined,
    maxEntries: 10,
    timeoutMs: 50,
    failOpen: false,
    serverSkewSec: 5,
  };

  it('warns once per process that each worker only remembers its own requests; never outside a worker', () => {
    const clusterWarnings = () => lines.filter(([, message]) => message.includes('cluster worker'));
    new SignedRequestReplayCheck(options, log, () => undefined, Date.now, false);
    expect(clusterWarnings()).toEqual([]);
    new SignedRequestReplayCheck(options, log, () => undefined, Date.now, true);
    new SignedRequestReplayCheck(options, log, () => undefined, Date.now, true);
    expect(clusterWarnings()).toEqual([['warn', expect.stringContaining('RedisReplayStore')]]);
  });
});

describe('the warning when the store throws', () => {
  const verified: MessageSignatureResult = { ok: true, signatures: [] };
  const identity = { digest: 'abc', passableUntilMs: Date.now() + 60_000, clockToleranceMs: 0 };
  const throwing = (error: unknown): ReplayStore => ({
    rememberIfAbsent: () => {
      throw error;
    },
    checkHealth: async () => false,
    close: async () => undefined,
  });
  const warningFor = (error: unknown): string => {
    let now = 0;
    const check = new SignedRequestReplayCheck(
      { store: throwing(error), maxEntries: 10, timeoutMs: 50, failOpen: false, serverSkewSec: 5 },
      log,
      () => undefined,
      () => (now += 60_000),
      false,
    );
    expect(check.judge({}, verified, identity)).toEqual({
      ok: false,
      code: 'replay_store_unavailable',
    });
    expect(lines).toHaveLength(1);
    return lines[0]![1];
  };

  it('names the error class and its errno code', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:6379'), {
      code: 'ECONNREFUSED',
    });
    expect(warningFor(error)).toBe('replay store: the store threw Error (ECONNREFUSED)');
  });

  it.each([
    ['free text', 'connection to 10.0.0.7 lost'],
    ['a number', 111],
    ['a word that is not errno-like', 'NOAUTH'],
    ['an overlong code', `E${'X'.repeat(40)}`],
  ])('leaves out a code that is %s', (_case, code) => {
    const error = Object.assign(new Error('connection to 10.0.0.7 lost'), { code });
    expect(warningFor(error)).toBe('replay store: the store threw Error');
  });

  it('never writes a thrown non-error', () => {
    expect(warningFor('password=hunter2')).toBe('replay store: the store threw an error');
  });
});

describe('how long the store keeps a request', () => {
  const verified: MessageSignatureResult = { ok: true, signatures: [] };
  const NOW = 1_800_000_000_000;
  const identity = { digest: 'ttl', passableUntilMs: NOW + 25_000, clockToleranceMs: 10_000 };
  const recording = (ttls: number[]): ReplayStore => ({
    rememberIfAbsent: (_key: string, ttlMs: number) => {
      ttls.push(ttlMs);
      return true;
    },
    checkHealth: async () => true,
    close: async () => undefined,
  });

  it('on a shared store: until the signature can no longer pass, plus its clock tolerance and serverSkewSec', async () => {
    const ttls: number[] = [];
    const check = new SignedRequestReplayCheck(
      { store: recording(ttls), maxEntries: 10, timeoutMs: 50, failOpen: false, serverSkewSec: 3 },
      log,
      () => undefined,
      () => NOW,
      false,
    );
    expect(check.sharedStoreMarginMs(identity)).toBe(13_000);
    expect(await check.judge({}, verified, identity)).toBe(verified);
    expect(ttls).toEqual([25_000 + 13_000]);
  });

  it('in the in-memory store: until the signature can no longer pass, no margin (one clock)', () => {
    const check = new SignedRequestReplayCheck(
      { store: undefined, maxEntries: 10, timeoutMs: 50, failOpen: false, serverSkewSec: 3 },
      log,
      () => undefined,
      () => NOW,
      false,
    );
    expect(check.sharedStoreMarginMs(identity)).toBe(0);
  });
});
