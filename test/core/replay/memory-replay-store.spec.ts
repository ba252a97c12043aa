import fc from 'fast-check';
import {
  MemoryReplayStore,
  DEFAULT_MEMORY_REPLAY_MAX_ENTRIES,
} from '../../../src/core/replay/memory-replay-store.js';
import { ReplayStoreUnavailableError } from '../../../src/core/errors.js';

const T0 = 1_700_000_000_000;

/** A clock the test moves by hand, in milliseconds. */
function fakeClock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return { now: () => current, advance: (ms) => (current += ms) };
}

describe('MemoryReplayStore', () => {
  it('answers true for a first sighting and false for every later one within the TTL', () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now });
    expect(store.rememberIfAbsent('a', 1000)).toBe(true);
    expect(store.rememberIfAbsent('a', 1000)).toBe(false);
    clock.advance(999);
    expect(store.rememberIfAbsent('a', 1000)).toBe(false);
  });

  it('keeps keys apart', () => {
    const store = new MemoryReplayStore();
    expect(store.rememberIfAbsent('a', 1000)).toBe(true);
    expect(store.rememberIfAbsent('b', 1000)).toBe(true);
  });

  it('forgets a key once its TTL has passed, and a second sighting then starts a new TTL', () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now });
    store.rememberIfAbsent('a', 1000);
    clock.advance(1000);
    expect(store.rememberIfAbsent('a', 1000)).toBe(true);
    clock.advance(500);
    expect(store.rememberIfAbsent('a', 1000)).toBe(false);
  });

  it('does not extend the TTL of a key on a replay', () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now });
    store.rememberIfAbsent('a', 1000);
    clock.advance(900);
    store.rememberIfAbsent('a', 60_000);
    clock.advance(100);
    expect(store.rememberIfAbsent('a', 1000)).toBe(true);
  });

  it('evicts entries past their expiry, oldest first, as new ones arrive', () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now, maxEntries: 100 });
    for (let i = 0; i < 10; i++) store.rememberIfAbsent(`old-${i}`, 1000);
    clock.advance(1000);
    for (let i = 0; i < 5; i++) store.rememberIfAbsent(`new-${i}`, 1000);
    // Two head evictions per insert: all ten expired entries are gone after five inserts.
    expect(store.size).toBe(5);
  });

  it('when full, sweeps expired entries that a longer-lived older one was hiding', () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now, maxEntries: 3 });
    store.rememberIfAbsent('long', 60_000);
    store.rememberIfAbsent('short-1', 1000);
    store.rememberIfAbsent('short-2', 1000);
    clock.advance(1000);
    expect(store.rememberIfAbsent('next', 1000)).toBe(true);
    expect(store.size).toBe(2);
    expect(store.rememberIfAbsent('long', 60_000)).toBe(false);
  });

  it('refuses a new key when full of live entries, rather than forgetting a live one', () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now, maxEntries: 2 });
    store.rememberIfAbsent('a', 10_000);
    store.rememberIfAbsent('b', 10_000);
    expect(() => store.rememberIfAbsent('c', 10_000)).toThrow(ReplayStoreUnavailableError);
    expect(() => store.rememberIfAbsent('c', 10_000)).toThrow(/full \(2 live entries\)/);
    expect(store.rememberIfAbsent('a', 10_000)).toBe(false);
    expect(store.size).toBe(2);
  });

  it('makes room again once a live entry expires, even one added after the last sweep', () => {
    const clock = fakeClock();
    const store = new MemoryReplayStore({ now: clock.now, maxEntries: 2 });
    store.rememberIfAbsent('a', 60_000);
    store.rememberIfAbsent('b', 60_000);
    expect(() => store.rememberIfAbsent('c', 1000)).toThrow(ReplayStoreUnavailableError);
    clock.advance(60_000);
    expect(store.rememberIfAbsent('c', 1000)).toBe(true);
    store.rememberIfAbsent('d', 60_000);
    clock.advance(1000);
    // 'c' expired before the earliest expiry the last sweep saw: it must still be found.
    expect(store.rememberIfAbsent('e', 1000)).toBe(true);
  });

  it('stays within its bound under 200,000 distinct signatures arriving within one window', () => {
    const clock = fakeClock();
    const maxEntries = 10_000;
    const store = new MemoryReplayStore({ now: clock.now, maxEntries });
    let accepted = 0;
    let refused = 0;
    let otherErrors = 0;
    let largest = 0;
    for (let i = 0; i < 200_000; i++) {
      try {
        if (store.rememberIfAbsent(`flood-${i}`, 75_000)) accepted++;
      } catch (error) {
        if (error instanceof ReplayStoreUnavailableError) refused++;
        else otherErrors++;
      }
      largest = Math.max(largest, store.size);
      clock.advance(0.1);
    }
    expect(largest).toBe(maxEntries);
    expect(accepted).toBe(maxEntries);
    expect(refused).toBe(200_000 - maxEntries);
    expect(otherErrors).toBe(0);
  });

  it('stays within its bound under 200,000 distinct signatures spread over many windows, refusing none', () => {
    const clock = fakeClock();
    const maxEntries = 10_000;
    const store = new MemoryReplayStore({ now: clock.now, maxEntries });
    let largest = 0;
    let accepted = 0;
    // 100 per second with a 75 s window: 7,500 live at most, under the bound.
    for (let i = 0; i < 200_000; i++) {
      if (store.rememberIfAbsent(`steady-${i}`, 75_000)) accepted++;
      largest = Math.max(largest, store.size);
      clock.advance(10);
    }
    expect(accepted).toBe(200_000);
    expect(largest).toBeLessThanOrEqual(maxEntries);
    expect(largest).toBeGreaterThanOrEqual(7_500);
  });

  it('defaults to 100,000 entries and refuses a bound that is not a positive integer', () => {
    expect(new MemoryReplayStore().maxEntries).toBe(DEFAULT_MEMORY_REPLAY_MAX_ENTRIES);
    expect(DEFAULT_MEMORY_REPLAY_MAX_ENTRIES).toBe(100_000);
    for (const maxEntries of [0, -1, 1.5, Number.NaN, 1e9]) {
      expect(() => new MemoryReplayStore({ maxEntries })).toThrow(RangeError);
    }
  });

  it('is healthy, and close() forgets everything', async () => {
    const store = new MemoryReplayStore();
    store.rememberIfAbsent('a', 1000);
    await expect(store.checkHealth()).resolves.toBe(true);
    await store.close();
    expect(store.size).toBe(0);
  });
});

describe('MemoryReplayStore against a model', () => {
  const operation = fc.oneof(
    fc.record({
      kind: fc.constant('remember' as const),
      key: fc.integer({ min: 0, max: 20 }),
      ttlMs: fc.integer({ min: 1, max: 5000 }),
    }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
  );

  it('answers as an unbounded map of key to expiry would, whenever it answers, and never exceeds its bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(operation, { maxLength: 200 }),
        (maxEntries, operations) => {
          const clock = fakeClock();
          const store = new MemoryReplayStore({ now: clock.now, maxEntries });
          const model = new Map<string, number>();
          for (const op of operations) {
            if (op.kind === 'wait') {
              clock.advance(op.ms);
              continue;
            }
            const key = `k${op.key}`;
            const expected = !(model.get(key)! > clock.now());
            let answer: boolean | 'full';
            try {
              answer = store.rememberIfAbsent(key, op.ttlMs);
            } catch (error) {
              if (!(error instanceof ReplayStoreUnavailableError)) throw error;
              answer = 'full';
            }
            if (answer === 'full') {
              // Refused only when every remembered key is still live and there are maxEntries of them.
              const live = [...model.values()].filter((expiry) => expiry > clock.now()).length;
              expect(live).toBe(maxEntries);
            } else {
              expect(answer).toBe(expected);
              if (expected) model.set(key, clock.now() + op.ttlMs);
            }
            expect(store.size).toBeLessThanOrEqual(maxEntries);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
