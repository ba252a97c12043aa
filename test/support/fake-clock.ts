import { jest } from '@jest/globals';

// Fake clocks for code that reads Date or waits on setTimeout: a test runs the clock instead of
// sleeping. Everything else (setImmediate, nextTick, intervals, I/O) stays real, so apps and
// sockets work as usual.
const ALWAYS_REAL = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
] as const;

/** Fakes Date alone, still ticking with real time; move it on with `jest.setSystemTime`. */
export function fakeDate(): void {
  jest.useFakeTimers({
    doNotFake: [...ALWAYS_REAL, 'setTimeout', 'clearTimeout'],
    advanceTimers: true,
  });
}

/** Fakes Date and setTimeout, frozen until `jest.advanceTimersByTimeAsync` runs them. */
export function fakeDateAndTimeouts(): void {
  jest.useFakeTimers({ doNotFake: [...ALWAYS_REAL] });
}

/** Real timers again; timeouts still pending on the fake clock are dropped. */
export function realClock(): void {
  jest.useRealTimers();
}
