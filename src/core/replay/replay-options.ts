import {
  DEFAULT_MEMORY_REPLAY_MAX_ENTRIES,
  MAX_MEMORY_REPLAY_MAX_ENTRIES,
} from './memory-replay-store.js';
import { DEFAULT_REPLAY_TIMEOUT_MS, MAX_REPLAY_TIMEOUT_MS } from './replay-protection.js';
import type { ReplayStore } from './replay-store.js';
import {
  checkOptionGroup,
  type OptionSchema,
  type RefuseOption,
} from '../options/option-schema.js';

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
  /**
   * How far apart the clocks of the instances sharing a store may be, in seconds, 0 to 60.
   * Default 5. A shared store keeps each request until its signature could no longer pass plus
   * the signature's clock tolerance plus this: an instance whose clock is behind still passes a
   * replayed signature after this one's deadline, and must still find it. Not used by the default
   * in-memory store, which serves one clock.
   */
  serverSkewSec?: number;
}

/** Default allowance for the clock difference between instances sharing a store, in seconds. */
export const DEFAULT_SERVER_SKEW_SEC = 5;
/** The largest `replay.serverSkewSec`: instances further apart than this need their clocks fixed. */
export const MAX_SERVER_SKEW_SEC = 60;

/** The replay options settled: what the module runs with. */
export interface ResolvedReplayOptions {
  /** The store given, or undefined for the default in-memory one. */
  readonly store: ReplayStore | undefined;
  readonly maxEntries: number;
  readonly timeoutMs: number;
  readonly failOpen: boolean;
  readonly serverSkewSec: number;
}

/** The `replay` options, as data: names, types, ranges, defaults. */
export const REPLAY_OPTIONS = {
  store: { type: 'custom' },
  maxEntries: {
    type: 'number',
    integer: true,
    min: 1,
    max: MAX_MEMORY_REPLAY_MAX_ENTRIES,
    default: DEFAULT_MEMORY_REPLAY_MAX_ENTRIES,
  },
  timeoutMs: {
    type: 'number',
    min: 1,
    max: MAX_REPLAY_TIMEOUT_MS,
    unit: 'milliseconds',
    default: DEFAULT_REPLAY_TIMEOUT_MS,
  },
  failOpen: { type: 'boolean', default: false },
  serverSkewSec: {
    type: 'number',
    integer: true,
    min: 0,
    max: MAX_SERVER_SKEW_SEC,
    unit: 'seconds',
    default: DEFAULT_SERVER_SKEW_SEC,
  },
} as const satisfies OptionSchema;

/** Checks the `replay` option; `fail` receives the option path and why it is wrong, and throws. */
export function checkReplayOptions(value: unknown, fail: RefuseOption): ResolvedReplayOptions {
  const given = checkOptionGroup(value, REPLAY_OPTIONS, 'replay', fail);
  const store = given.store;
  if (store !== undefined && !isReplayStore(store)) {
    fail(
      'replay.store',
      'must be a replay store (rememberIfAbsent, checkHealth and close methods): e.g. a RedisReplayStore.',
    );
  }
  if (store !== undefined && given.maxEntries !== undefined) {
    fail(
      'replay.maxEntries',
      'sizes the default in-memory store: it has no effect with replay.store.',
    );
  }
  return Object.freeze({
    store: store as ReplayStore | undefined,
    maxEntries: given.maxEntries ?? REPLAY_OPTIONS.maxEntries.default,
    timeoutMs: given.timeoutMs ?? REPLAY_OPTIONS.timeoutMs.default,
    failOpen: given.failOpen ?? REPLAY_OPTIONS.failOpen.default,
    serverSkewSec: given.serverSkewSec ?? REPLAY_OPTIONS.serverSkewSec.default,
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
