import { Redis } from 'ioredis';
import {
  ReplayProtection,
  type ReplayVerdict,
} from '../../../src/core/replay/replay-protection.js';
import {
  RedisReplayStore,
  type IoRedisClientLike,
} from '../../../src/core/replay/redis-replay-store.js';
import { ReplayStoreUnavailableError } from '../../../src/core/errors.js';
import { PrivateRedisServer } from '../../support/redis.js';

// Redis down, paused and restarted, against a redis-server of this file's own. "No hang" is
// asserted as an answer well inside a generous bound (HANG_BOUND_MS), never as a speed.

const TIMEOUT_MS = 50;
const HANG_BOUND_MS = 1500;
const RECOVERY_BOUND_MS = 10_000;

let server: PrivateRedisServer;
let sequence = 0;
const freshKey = (): string => `key-${++sequence}`;

beforeAll(async () => {
  server = await PrivateRedisServer.start();
});
afterAll(async () => {
  server.resume();
  await server.stop();
});
afterEach(async () => {
  server.resume();
  if (!server.running) await server.restart();
});

async function timed(
  verdict: ReplayVerdict | Promise<ReplayVerdict>,
): Promise<{ verdict: ReplayVerdict; ms: number }> {
  const start = performance.now();
  const settled = await verdict;
  return { verdict: settled, ms: performance.now() - start };
}

/** Checks a fresh key until the store answers 'first' (bounded); the attempts it took. */
async function waitForProtection(protection: ReplayProtection): Promise<number> {
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  for (let attempt = 1; ; attempt++) {
    if ((await protection.check(freshKey(), 10_000)) === 'first') return attempt;
    if (Date.now() > deadline)
      throw new Error(`protection did not resume within ${RECOVERY_BOUND_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(['ioredis', 'redis'] as const)(
  'a replay store on its own %s connection',
  (clientPackage) => {
    let store: RedisReplayStore;
    let protection: ReplayProtection;
    const storeErrors: unknown[] = [];

    beforeAll(async () => {
      store = await RedisReplayStore.fromUrl(server.url, { clientPackage, maxPendingCommands: 20 });
      protection = new ReplayProtection(store, {
        timeoutMs: TIMEOUT_MS,
        onStoreError: (error) => storeErrors.push(error),
      });
      await waitForProtection(protection);
    });
    afterAll(async () => {
      await store.close();
    });
    beforeEach(async () => {
      // Lets commands left waiting by an earlier pause finish first.
      await waitForProtection(protection);
      storeErrors.length = 0;
    });

    it('answers unavailable, not hanging, while Redis is stopped', async () => {
      await server.stop();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => timed(protection.check(freshKey(), 10_000))),
      );
      expect(results.map((result) => result.verdict)).toEqual(Array(20).fill('unavailable'));
      for (const { ms } of results) expect(ms).toBeLessThan(HANG_BOUND_MS);
      expect(storeErrors.length).toBe(20);
    });

    it('answers unavailable within the deadline while Redis is paused (SIGSTOP)', async () => {
      const key = freshKey();
      server.pause();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => timed(protection.check(key, 10_000))),
      );
      expect(results.map((result) => result.verdict)).toEqual(Array(5).fill('unavailable'));
      for (const { ms } of results) {
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
        expect(ms).toBeLessThan(HANG_BOUND_MS);
      }
    });

    it('fails at once, queueing nothing more, once too many commands await a paused Redis', async () => {
      server.pause();
      const waiting = Array.from({ length: 20 }, () =>
        store.rememberIfAbsent(freshKey(), 10_000).catch((error: unknown) => error),
      );
      await expect(store.rememberIfAbsent(freshKey(), 10_000)).rejects.toThrow(
        /too many commands awaiting a reply/,
      );
      server.resume();
      // The paused commands complete once Redis runs again.
      expect(await Promise.all(waiting)).toEqual(Array(20).fill(true));
    });

    it('resumes protection after Redis restarts, with no new store', async () => {
      await server.stop();
      expect(await protection.check(freshKey(), 10_000)).toBe('unavailable');
      await server.restart();
      await waitForProtection(protection);
      const key = freshKey();
      expect(await protection.check(key, 10_000)).toBe('first');
      expect(await protection.check(key, 10_000)).toBe('replayed');
    });

    it('forgets what it saw when Redis restarts without its data: a replay passes once, then is refused', async () => {
      const key = freshKey();
      expect(await protection.check(key, 60_000)).toBe('first');
      await server.stop();
      await server.restart();
      await waitForProtection(protection);
      expect(await protection.check(key, 60_000)).toBe('first');
      expect(await protection.check(key, 60_000)).toBe('replayed');
    });

    it('resumes after a pause ends', async () => {
      server.pause();
      expect(await protection.check(freshKey(), 10_000)).toBe('unavailable');
      server.resume();
      await waitForProtection(protection);
    });
  },
);

describe('a replay store on the app’s own ioredis client, with its default offline queue', () => {
  let client: Redis;
  let protection: ReplayProtection;

  beforeAll(async () => {
    client = new Redis(server.url);
    client.on('error', () => {});
    await client.ping();
    protection = new ReplayProtection(new RedisReplayStore(client), { timeoutMs: TIMEOUT_MS });
  });
  afterAll(() => {
    client.disconnect();
  });

  it('answers unavailable within the deadline while Redis is stopped, and resumes by itself after a restart', async () => {
    await server.stop();
    const { verdict, ms } = await timed(protection.check(freshKey(), 10_000));
    expect(verdict).toBe('unavailable');
    expect(ms).toBeLessThan(HANG_BOUND_MS);
    await server.restart();
    await waitForProtection(protection);
  });
});

describe('ReplayStoreUnavailableError messages', () => {
  it('name the error class or code, never the host', async () => {
    const store = await RedisReplayStore.fromUrl('redis://127.0.0.1:1', {
      clientPackage: 'ioredis',
      connectTimeoutMs: 100,
    });
    try {
      const error = (await store
        .rememberIfAbsent('k', 1)
        .catch((caught: unknown) => caught)) as Error;
      expect(error).toBeInstanceOf(ReplayStoreUnavailableError);
      expect(error.message).toMatch(/^Redis did not answer \(\w+\)$/);
      expect(error.message).not.toContain('127.0.0.1');
    } finally {
      await store.close();
    }
  });

  it.each([
    ['CLUSTERDOWN The cluster is down', 'Redis did not answer (CLUSTERDOWN)'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'Redis did not answer (TRYAGAIN)'],
    ['LOADING Redis is loading the dataset in memory', 'Redis did not answer (LOADING)'],
    [
      'MOVED 3999 10.0.0.7:6381',
      'Redis redirected the command (MOVED): a Redis Cluster needs a cluster client (ioredis Cluster, node-redis createCluster)',
    ],
    [
      'ASK 3999 10.0.0.7:6381',
      'Redis redirected the command (ASK): a Redis Cluster needs a cluster client (ioredis Cluster, node-redis createCluster)',
    ],
    ['Connection to 10.0.0.7:6381 is closed.', 'Redis did not answer (Error)'],
  ])('name the first word of the error reply %j, never the rest', async (reply, message) => {
    const client: IoRedisClientLike = {
      status: 'ready',
      call: () => Promise.reject(new Error(reply)),
      disconnect: () => {},
    };
    const error = (await new RedisReplayStore(client)
      .rememberIfAbsent('k', 1)
      .catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(ReplayStoreUnavailableError);
    expect(error.message).toBe(message);
  });
});
