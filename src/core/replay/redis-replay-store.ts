import { ApproovConfigurationError, ReplayStoreUnavailableError } from '../errors.js';
import {
  redisCommandsOf,
  type IoRedisClientLike,
  type NodeRedisClientLike,
  type RedisClientLike,
  type RedisCommands,
} from './redis-clients.js';
import type { ReplayStore } from './replay-store.js';

export type {
  IoRedisClientLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  RedisClientLike,
} from './redis-clients.js';

export interface RedisReplayStoreOptions {
  /** Prefix of every key, so several apps (or test files) can share one Redis. Default 'approov:replay:'. */
  keyPrefix?: string;
  /**
   * Most commands awaiting a reply at once; past it a call fails at once instead of queueing
   * behind a Redis that stopped answering (paused, or a dead link not yet noticed). Default 1,000.
   */
  maxPendingCommands?: number;
}

export interface RedisReplayStoreUrlOptions extends RedisReplayStoreOptions {
  /** Time allowed to open a connection, in milliseconds. Default 2,000. */
  connectTimeoutMs?: number;
  /** The client package to connect with. Default: 'ioredis' when installed, else 'redis'. */
  clientPackage?: 'ioredis' | 'redis';
}

export const DEFAULT_REPLAY_KEY_PREFIX = 'approov:replay:';
export const DEFAULT_MAX_PENDING_COMMANDS = 1000;
const HEALTH_CHECK_TIMEOUT_MS = 1000;
const KEY_PREFIX_RE = /^[\x21-\x7e]{0,64}$/;
// Reconnect quickly after a restart, but never hammer a Redis that stays down.
const reconnectDelayMs = (attempt: number): number => Math.min(attempt * 50, 1000);
const ignore = (): void => {};

/**
 * Seen requests in Redis, shared by every instance of the API: one `SET key 1 NX PX ttl` per
 * check, atomic on the server, so of two instances seeing the same request at once exactly one
 * gets the first sighting. Keys are the prefix and a 43-character hash. Works with ioredis and
 * node-redis, and with their Redis Cluster clients (a command on one key runs on the master of its
 * slot); reconnection and redirection are the client's.
 */
export class RedisReplayStore implements ReplayStore {
  readonly keyPrefix: string;
  private readonly maxPending: number;
  private readonly commands: RedisCommands;
  private pending = 0;

  /** A store on the app's own client; the client stays the app's to close. */
  constructor(
    client: RedisClientLike,
    options: RedisReplayStoreOptions = {},
    private readonly closeClient: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.keyPrefix = options.keyPrefix ?? DEFAULT_REPLAY_KEY_PREFIX;
    if (typeof this.keyPrefix !== 'string' || !KEY_PREFIX_RE.test(this.keyPrefix)) {
      throw new ApproovConfigurationError(
        'Approov replay store: keyPrefix must be at most 64 printable ASCII characters.',
      );
    }
    this.maxPending = options.maxPendingCommands ?? DEFAULT_MAX_PENDING_COMMANDS;
    if (!Number.isSafeInteger(this.maxPending) || this.maxPending < 1) {
      throw new ApproovConfigurationError(
        'Approov replay store: maxPendingCommands must be a positive integer.',
      );
    }
    const commands = redisCommandsOf(client);
    if (commands === undefined) {
      throw new ApproovConfigurationError(
        'Approov replay store: the Redis client must be an ioredis or a node-redis (redis) client, or a cluster client of either.',
      );
    }
    this.commands = commands;
  }

  /**
   * A store on a connection of its own to `url` (redis:// or rediss://), made with ioredis when
   * installed, else node-redis. Waits up to connectTimeoutMs for the first connection, so the first
   * requests after boot find it ready, and never fails on an unreachable Redis: it fails fast
   * while disconnected (no offline queue) and reconnects by itself. close() closes it.
   * Throws ApproovConfigurationError on a bad URL or no client package.
   */
  static async fromUrl(
    url: string,
    options: RedisReplayStoreUrlOptions = {},
  ): Promise<RedisReplayStore> {
    checkRedisUrl(url);
    const connectTimeout = options.connectTimeoutMs ?? 2000;
    const wanted = options.clientPackage;
    if (wanted !== undefined && wanted !== 'ioredis' && wanted !== 'redis') {
      throw new ApproovConfigurationError(
        `Approov replay store: clientPackage must be 'ioredis' or 'redis'.`,
      );
    }
    const ioredis =
      wanted === 'redis'
        ? undefined
        : await importOptional<{ Redis?: IoRedisConstructor; default?: IoRedisConstructor }>(
            'ioredis',
          );
    const IoRedis = ioredis?.Redis ?? ioredis?.default;
    if (IoRedis !== undefined) {
      const client = new IoRedis(url, {
        enableOfflineQueue: false, // answer "unavailable" at once while disconnected, not after the deadline
        autoResendUnfulfilledCommands: false, // a command the app already answered must not run later
        maxRetriesPerRequest: 0,
        connectTimeout,
        retryStrategy: reconnectDelayMs,
      });
      client.on('error', ignore); // each failed call is reported by its caller; the event would print the error
      await firstOf(
        new Promise<void>((resolve) => client.once('ready', () => resolve())),
        connectTimeout,
      );
      return new RedisReplayStore(client, options, async () => client.disconnect());
    }
    const nodeRedis =
      wanted === 'ioredis'
        ? undefined
        : await importOptional<{ createClient: NodeRedisFactory }>('redis');
    if (nodeRedis !== undefined) {
      const client = nodeRedis.createClient({
        url,
        disableOfflineQueue: true,
        socket: { connectTimeout, reconnectStrategy: reconnectDelayMs },
      });
      client.on('error', ignore);
      // It keeps retrying by itself after the first wait; calls fail fast until it is up.
      await firstOf(client.connect(), connectTimeout);
      return new RedisReplayStore(client, options, async () => {
        if (client.destroy !== undefined) client.destroy();
        else await client.disconnect?.();
      });
    }
    throw new ApproovConfigurationError(
      `Approov replay store: a Redis URL needs the ${wanted === undefined ? '"ioredis" or the "redis"' : `"${wanted}"`} package (npm install ${wanted ?? 'ioredis'}).`,
    );
  }

  async rememberIfAbsent(key: string, ttlMs: number): Promise<boolean> {
    if (this.pending >= this.maxPending) {
      throw new ReplayStoreUnavailableError('Redis has too many commands awaiting a reply');
    }
    this.pending++;
    const redisKey = this.keyPrefix + key;
    try {
      const reply = await this.commands.sendKeyCommand(redisKey, [
        'SET',
        redisKey,
        '1',
        'PX',
        String(Math.max(1, Math.ceil(ttlMs))),
        'NX',
      ]);
      return reply !== null;
    } catch (error) {
      throw new ReplayStoreUnavailableError(describeRedisError(error));
    } finally {
      this.pending--;
    }
  }

  async checkHealth(): Promise<boolean> {
    if (!this.commands.isReady()) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, HEALTH_CHECK_TIMEOUT_MS, false);
    });
    try {
      return await Promise.race([this.commands.canAnswer().catch(() => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.closeClient();
  }
}

type IoRedisConstructor = new (
  url: string,
  options: object,
) => IoRedisClientLike & {
  on(event: 'error', listener: () => void): unknown;
  once(event: 'ready', listener: () => void): unknown;
};
type NodeRedisFactory = (options: object) => NodeRedisClientLike & {
  on(event: 'error', listener: () => void): unknown;
  connect(): Promise<unknown>;
};

/** Waits for `promise` (its failure ignored) or `ms` milliseconds, whichever comes first. */
async function firstOf(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(ignore),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** Checks the scheme only; the message never repeats the URL, which may hold a password. */
export function checkRedisUrl(url: unknown): void {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') ||
    parsed.hostname === ''
  ) {
    throw new ApproovConfigurationError(
      'Approov replay store: the Redis URL must be redis://host[:port] or rediss://host[:port].',
    );
  }
}

/**
 * Why Redis did not answer, in words that never name a host or echo a command: the error's code,
 * else the first word of a Redis error reply (CLUSTERDOWN, TRYAGAIN, LOADING...), else its class.
 */
function describeRedisError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[A-Z_]{1,32}$/.test(code))
    return `Redis did not answer (${code})`;
  const message = (error as { message?: unknown })?.message;
  const reply =
    typeof message === 'string' ? /^([A-Z][A-Z_]{1,31})(?: |$)/.exec(message)?.[1] : undefined;
  // A redirection reaching the store means a plain client on a cluster node (a cluster client follows them).
  if (reply === 'MOVED' || reply === 'ASK') {
    return `Redis redirected the command (${reply}): a Redis Cluster needs a cluster client (ioredis Cluster, node-redis createCluster)`;
  }
  if (reply !== undefined) return `Redis did not answer (${reply})`;
  const name = (error as { name?: unknown })?.name;
  return `Redis did not answer (${typeof name === 'string' && /^\w{1,64}$/.test(name) ? name : 'error'})`;
}

/** The module, or undefined when it is not installed (an optional peer dependency). */
async function importOptional<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}
