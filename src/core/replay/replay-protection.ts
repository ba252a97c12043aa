import { ReplayStoreTimeoutError } from '../errors.js';
import type { ReplayStore } from './replay-store.js';

/** A first sighting, a replay, or no answer from the store in time (the server cannot decide). */
export type ReplayVerdict = 'first' | 'replayed' | 'unavailable';

export const DEFAULT_REPLAY_TIMEOUT_MS = 50;
export const MAX_REPLAY_TIMEOUT_MS = 10_000;

export interface ReplayProtectionOptions {
  /** Deadline of every store call, in milliseconds. Default 50. */
  timeoutMs?: number;
  /** Told why the store could not answer (an error from the store, or the deadline passing). */
  onStoreError?: (error: unknown) => void;
}

/**
 * Asks the store whether a verified request was seen before, with a deadline on every call so
 * that no request waits on a store that is slow or gone. A store that answers synchronously
 * (in memory) gets a synchronous verdict: no Promise, no timer.
 */
export class ReplayProtection {
  readonly timeoutMs: number;
  private readonly onStoreError: (error: unknown) => void;

  constructor(
    readonly store: ReplayStore,
    options: ReplayProtectionOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REPLAY_TIMEOUT_MS;
    this.onStoreError = options.onStoreError ?? (() => {});
  }

  /** Remembers `key` for `ttlMs` unless seen: the verdict, never a throw. */
  check(key: string, ttlMs: number): ReplayVerdict | Promise<ReplayVerdict> {
    let answer: boolean | Promise<boolean>;
    try {
      answer = this.store.rememberIfAbsent(key, ttlMs);
    } catch (error) {
      this.onStoreError(error);
      return 'unavailable';
    }
    if (typeof answer === 'boolean') return answer ? 'first' : 'replayed';
    // An app-supplied store may break its contract: anything but a boolean or a thenable cannot decide.
    if (typeof (answer as { then?: unknown } | null)?.then !== 'function') {
      this.onStoreError(notABoolean(answer));
      return 'unavailable';
    }
    return this.withDeadline(answer);
  }

  private withDeadline(answer: PromiseLike<boolean>): Promise<ReplayVerdict> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (verdict: ReplayVerdict): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(verdict);
      };
      const timer = setTimeout(() => {
        // A busy event loop can fire the timer before reading a reply that already arrived:
        // give the poll phase one more turn (setImmediate runs after it) before giving up.
        setImmediate(() => {
          if (settled) return;
          this.onStoreError(
            new ReplayStoreTimeoutError(
              `the replay store did not answer within ${this.timeoutMs} ms`,
            ),
          );
          settle('unavailable');
        });
      }, this.timeoutMs);
      answer.then(
        (first) => {
          if (typeof first === 'boolean') return settle(first ? 'first' : 'replayed');
          if (!settled) this.onStoreError(notABoolean(first));
          settle('unavailable');
        },
        (error: unknown) => {
          if (!settled) this.onStoreError(error);
          settle('unavailable');
        },
      );
    });
  }
}

function notABoolean(answer: unknown): TypeError {
  return new TypeError(
    `the replay store's rememberIfAbsent answered ${answer === null ? 'null' : typeof answer}, not a boolean or a Promise of one`,
  );
}
