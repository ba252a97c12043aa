import {
  DEFAULT_MEMORY_REPLAY_MAX_ENTRIES,
  MAX_MEMORY_REPLAY_MAX_ENTRIES,
} from './memory-replay-store.js';
import { DEFAULT_REPLAY_TIMEOUT_MS, MAX_REPLAY_TIMEOUT_MS } from './replay-protection.js';
import type { ReplayStore } from './replay-store.js';

/** Where and how signed requests are remembered (`replay` in the module options). */
export interface ApproovReplayOptions {
  /**
   * The shared memory of seen requests. Default: an in-memory store in this process, which is
   * enough for one instance only: behind a load balancer a replay goes to another instance,
   * so give every instance the same store (`await RedisReplayStore.fromUrl(url)`, or
   * `new RedisReplayStore(client)` on the app's ioredis or node-redis client, or cluster client). Closed on app shutdown.
   */
  store?: ReplayStore;
  /** Most entries of the default in-memory store (not used with `store`). Default 100,000. */
  maxEntries?: number;
  /** Deadline of each store call, in milliseconds, 1 to 10,000. Default 50. */
  timeoutMs?: number;
  /**
   * When the store cannot answer in time: false (default) answers 503 (code
   * `replay_store_unavailable`); true serves the request unchecked for replay and reports it
   * (log line and onFailure with `failedOpen: true`). Failing open lets replays through while the
   * store is down.
   */
  failOpen?: boolean;
}

/** The replay options settled: what the module runs with. */
export interface ResolvedReplayOptions {
  /** The store given, or undefined for the default in-memory one. */
  readonly store: ReplayStore | undefined;
  readonly maxEntries: number;
  readonly timeoutMs: number;
  readonly failOpen: boolean;
}

const KNOWN = ['store', 'maxEntries', 'timeoutMs', 'failOpen'];

/** Checks the `replay` option; `fail` receives the option path and why it is wrong, and throws. */
export function checkReplayOptions(
  value: unknown,
  fail: (option: string, why: string) => never,
): ResolvedReplayOptions {
  const given = (value === undefined ? {} : value) as Record<string, unknown>;
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    fail('replay', 'must be an object.');
  for (const key of Object.keys(given)) {
    if (!KNOWN.includes(key))
      fail(`replay.${key}`, `is not an option (known: ${KNOWN.join(', ')}).`);
  }
  const store = given.store;
  if (store !== undefined && !isReplayStore(store)) {
    fail(
      'replay.store',
      'must be a replay store (rememberIfAbsent, checkHealth and close methods): e.g. a RedisReplayStore.',
    );
  }
  const maxEntries = given.maxEntries ?? DEFAULT_MEMORY_REPLAY_MAX_ENTRIES;
  if (
    !Number.isSafeInteger(maxEntries) ||
    (maxEntries as number) < 1 ||
    (maxEntries as number) > MAX_MEMORY_REPLAY_MAX_ENTRIES
  ) {
    fail('replay.maxEntries', `must be an integer from 1 to ${MAX_MEMORY_REPLAY_MAX_ENTRIES}.`);
  }
  if (store !== undefined && given.maxEntries !== undefined) {
    fail(
      'replay.maxEntries',
      'sizes the default in-memory store: it has no effect with replay.store.',
    );
  }
  const timeoutMs = given.timeoutMs ?? DEFAULT_REPLAY_TIMEOUT_MS;
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isFinite(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > MAX_REPLAY_TIMEOUT_MS
  ) {
    fail(
      'replay.timeoutMs',
      `must be a number of milliseconds from 1 to ${MAX_REPLAY_TIMEOUT_MS}.`,
    );
  }
  const failOpen = given.failOpen ?? false;
  if (typeof failOpen !== 'boolean') fail('replay.failOpen', 'must be a boolean.');
  return Object.freeze({
    store: store as ReplayStore | undefined,
    maxEntries: maxEntries as number,
    timeoutMs: timeoutMs as number,
    failOpen: failOpen as boolean,
  });
}

function isReplayStore(value: unknown): value is ReplayStore {
  const store = value as Partial<ReplayStore> | null;
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof store.rememberIfAbsent === 'function' &&
    typeof store.checkHealth === 'function' &&
    typeof store.close === 'function'
  );
}
