import {
  REJECT_LOG_FULL_LINES_PER_INTERVAL as FULL,
  REJECT_SOURCE_MAX_CHARS,
  RejectLogThrottle,
  TopKeys,
  type RejectLogTimers,
} from '../../../src/core/check/reject-log.js';
import { resolveApproovConfig } from '../../../src/core/approov-config.js';
import type { ApproovFailureCode } from '../../../src/core/failure.js';

/** Timers run by hand: `advance` fires what falls due, in order. */
function manualTimers(): RejectLogTimers & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let tasks: { at: number; run: () => void }[] = [];
  return {
    now: () => now,
    schedule(callback, delayMs) {
      const task = { at: now + delayMs, run: callback };
      tasks.push(task);
      return { cancel: () => (tasks = tasks.filter((t) => t !== task)) };
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = tasks.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        tasks = tasks.filter((t) => t !== due);
        now = due.at;
        due.run();
      }
      now = end;
    },
    pending: () => tasks.length,
  };
}

function throttle(mode: 'summary' | 'every' = 'summary', intervalSec = 10) {
  const timers = manualTimers();
  const summaries: { code: ApproovFailureCode; count: number; elapsedSec: number }[] = [];
  const sources: string[] = [];
  const log = new RejectLogThrottle(
    mode,
    intervalSec,
    (code, count, elapsedSec, named) => {
      summaries.push({ code, count, elapsedSec });
      sources.push(named);
    },
    timers,
  );
  return { log, timers, summaries, sources };
}

describe('RejectLogThrottle in summary mode', () => {
  it('logs the first few rejects of a code at once and holds back the rest of the interval', () => {
    const { log } = throttle();
    for (let i = 0; i < FULL; i++) expect(log.admit('token_signature_invalid')).toBe(true);
    for (let i = 0; i < 1_000; i++) expect(log.admit('token_signature_invalid')).toBe(false);
  });

  it('gives each new interval of a flood its own few full lines: a real reject is not always hidden', () => {
    const { log, timers } = throttle('summary', 10);
    const admitted: number[] = [];
    for (let interval = 0; interval < 3; interval++) {
      let lines = 0;
      for (let i = 0; i < 500; i++) if (log.admit('token_signature_invalid')) lines++;
      admitted.push(lines);
      timers.advance(10_000);
    }
    expect(FULL).toBeGreaterThan(1);
    expect(admitted).toEqual([FULL, FULL, FULL]);
  });

  it('writes one line per interval with the count of the rejects it stands for, while the flood lasts', () => {
    const { log, timers, summaries } = throttle('summary', 10);
    log.admit('token_signature_invalid');
    for (let second = 0; second < 30; second++) {
      for (let i = 0; i < 100; i++) log.admit('token_signature_invalid');
      timers.advance(1_000);
    }
    // 1,001 rejects in the first interval, 1,000 in each next one: the first few of each got a line.
    expect(summaries).toEqual([
      { code: 'token_signature_invalid', count: 1_001 - FULL, elapsedSec: 10 },
      { code: 'token_signature_invalid', count: 1_000 - FULL, elapsedSec: 10 },
      { code: 'token_signature_invalid', count: 1_000 - FULL, elapsedSec: 10 },
    ]);
  });

  it('counts every reject exactly once across lines, whatever the timing', () => {
    const { log, timers, summaries } = throttle('summary', 3);
    let lines = 0;
    let total = 0;
    for (let i = 0; i < 5_000; i++) {
      total++;
      if (log.admit(i % 7 === 0 ? 'token_expired' : 'token_malformed')) lines++;
      timers.advance((i * 7919) % 13);
    }
    timers.advance(10_000);
    expect(lines + summaries.reduce((sum, s) => sum + s.count, 0)).toBe(total);
  });

  it('keeps codes apart: each has its own first line and its own count', () => {
    const { log, timers, summaries } = throttle();
    for (let i = 0; i < FULL; i++) {
      expect(log.admit('token_expired')).toBe(true);
      expect(log.admit('token_malformed')).toBe(true);
    }
    log.admit('token_expired');
    log.admit('token_expired');
    log.admit('token_malformed');
    timers.advance(10_000);
    expect(summaries).toEqual([
      { code: 'token_expired', count: 2, elapsedSec: 10 },
      { code: 'token_malformed', count: 1, elapsedSec: 10 },
    ]);
  });

  it('logs at once again after a code was quiet for a whole interval, and leaves no timer behind', () => {
    const { log, timers, summaries } = throttle();
    log.admit('binding_mismatch');
    timers.advance(10_000);
    expect(summaries).toEqual([]);
    expect(timers.pending()).toBe(0);
    expect(log.admit('binding_mismatch')).toBe(true);
  });

  it('writes what it holds when closed, and stops its timers', () => {
    const { log, timers, summaries } = throttle();
    for (let i = 0; i <= FULL; i++) log.admit('token_expired');
    timers.advance(4_000);
    log.close();
    expect(summaries).toEqual([{ code: 'token_expired', count: 1, elapsedSec: 4 }]);
    expect(timers.pending()).toBe(0);
  });
});

describe('RejectLogThrottle in every mode', () => {
  it('logs every reject and schedules nothing', () => {
    const { log, timers, summaries } = throttle('every');
    for (let i = 0; i < 100; i++) expect(log.admit('token_expired')).toBe(true);
    timers.advance(60_000);
    expect(summaries).toEqual([]);
    expect(timers.pending()).toBe(0);
  });
});

describe('the rejectLog option', () => {
  const secret = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64');

  it("defaults to summary lines every 10 s, and accepts 'every' and another interval", () => {
    expect(resolveApproovConfig({ secret }).rejectLog).toEqual({
      lines: 'summary',
      intervalSec: 10,
    });
    expect(resolveApproovConfig({ secret, rejectLog: { lines: 'every' } }).rejectLog).toEqual({
      lines: 'every',
      intervalSec: 10,
    });
    expect(resolveApproovConfig({ secret, rejectLog: { intervalSec: 60 } }).rejectLog).toEqual({
      lines: 'summary',
      intervalSec: 60,
    });
  });

  it.each([
    ['a string', 'every', /"rejectLog" must be an object/],
    ['an unknown lines value', { lines: 'off' }, /rejectLog\.lines/],
    ['an interval of 0', { intervalSec: 0 }, /rejectLog\.intervalSec/],
    ['an interval over an hour', { intervalSec: 3_601 }, /rejectLog\.intervalSec/],
    ['an interval that is not a number', { intervalSec: '10' }, /rejectLog\.intervalSec/],
    ['an unknown field', { lines: 'summary', interval: 5 }, /rejectLog\.interval\b/],
  ])('refuses %s at boot, naming the option', (_name, rejectLog, message) => {
    expect(() => resolveApproovConfig({ secret, rejectLog })).toThrow(message);
  });
});

describe('TopKeys (space-saving)', () => {
  it('counts exactly while its slots last, and keeps a frequent key when a stream of new ones passes', () => {
    const top = new TopKeys(4);
    for (let i = 0; i < 400; i++) top.add('hot');
    for (let i = 0; i < 3; i++) top.add('warm');
    expect(top.top(2)).toEqual([
      ['hot', 400],
      ['warm', 3],
    ]);
    // Seen more than 1/slots of all adds (400 of 1,403): never evicted, its count exact.
    for (let i = 0; i < 1000; i++) top.add(`cold-${i}`);
    expect(top.top(1)).toEqual([['hot', 400]]);
  });
});

describe('RejectLogThrottle summary sources', () => {
  const at = (route: string, client: string, traceId?: string) => () => ({
    route,
    client,
    ...(traceId !== undefined ? { traceId } : {}),
  });

  it('names the route, client and trace of 20 targeted rejects inside a flood of thousands of the same code', () => {
    const { log, timers, sources, summaries } = throttle('summary', 10);
    const flood = ['GET /hello', 'GET /shapes', 'POST /login', 'GET /'];
    for (let i = 0; i < 5_000; i++) {
      log.admit('token_signature_invalid', at(flood[i % 4]!, `203.0.113.${i % 3}`));
      if (i % 250 === 100)
        log.admit('token_signature_invalid', at('POST /transfer', '198.51.100.9', 'trace-1'));
    }
    timers.advance(10_000);
    expect(summaries[0]!.count).toBe(5_000 + 20 - FULL);
    const line = sources[0]!;
    expect(line).toContain('POST /transfer ×20');
    expect(line).toContain('198.51.100.9 ×20');
    expect(line).toContain('top traces: trace-1 ×20');
    expect(line.length).toBeLessThan(600);
  });

  it('stays bounded whatever the keys: slots per kind, keys cut to a fixed length', () => {
    const { log, timers, sources } = throttle('summary', 10);
    const long = 'x'.repeat(10_000);
    for (let i = 0; i < 2_000; i++)
      log.admit('token_missing', at(`GET /${long}${i}`, `${long}${i}`, `${long}${i}`));
    timers.advance(10_000);
    const line = sources[0]!;
    // 5 names per kind, each cut to REJECT_SOURCE_MAX_CHARS, plus counts and separators.
    expect(line.length).toBeLessThan(15 * (REJECT_SOURCE_MAX_CHARS + 12) + 60);
    expect(line).toContain('…');
  });

  it('names an unknown client as such, leaves out traces when none was sent, and starts afresh each interval', () => {
    const { log, timers, sources } = throttle('summary', 10);
    for (let i = 0; i < FULL + 2; i++) log.admit('token_missing', at('GET /a', ''));
    timers.advance(10_000);
    for (let i = 0; i < FULL + 1; i++) log.admit('token_missing', at('GET /b', '10.0.0.1'));
    log.close();
    expect(sources).toEqual([
      '; top routes: GET /a ×2; top clients: unknown ×2',
      '; top routes: GET /b ×1; top clients: 10.0.0.1 ×1',
    ]);
  });
});
