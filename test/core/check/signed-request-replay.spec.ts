import { SignedRequestReplayCheck } from '../../../src/core/check/signed-request-replay.js';
import type { ApproovLogLevel } from '../../../src/core/check/log.js';

describe('the in-memory store in a cluster worker', () => {
  const options = { store: undefined, maxEntries: 10, timeoutMs: 50, failOpen: false };

  it('warns once per process that each worker only remembers its own requests; never outside a worker', () => {
    const lines: Array<[ApproovLogLevel, string]> = [];
    const log = (level: ApproovLogLevel, message: string) => lines.push([level, message]);
    const clusterWarnings = () => lines.filter(([, message]) => message.includes('cluster worker'));
    new SignedRequestReplayCheck(options, log, () => undefined, Date.now, false);
    expect(clusterWarnings()).toEqual([]);
    new SignedRequestReplayCheck(options, log, () => undefined, Date.now, true);
    new SignedRequestReplayCheck(options, log, () => undefined, Date.now, true);
    expect(clusterWarnings()).toEqual([['warn', expect.stringContaining('RedisReplayStore')]]);
  });
});
