import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { ApproovConfigurationError } from 'nestjs-approov';
import {
  checkRedisUrl,
  RedisReplayStore,
  type RedisClientLike,
} from '../../../src/core/replay/redis-replay-store.js';
import { ReplayStoreUnavailableError } from '../../../src/core/errors.js';
import {
  connectSharedRedis,
  deleteKeys,
  freePort,
  REDIS_URL,
  uniqueKeyPrefix,
} from '../../support/redis.js';

const PREFIX = uniqueKeyPrefix('redis-replay-store');
let admin: Redis;

beforeAll(async () => {
  admin = await connectSharedRedis();
});
afterAll(async () => {
  await deleteKeys(admin, PREFIX);
  admin.disconnect();
});

/** The app's own client of each kind, connected to the shared Redis. */
const CLIENTS: ReadonlyArray<
  [string, () => Promise<{ client: RedisClientLike; close: () => Promise<void> }>]
> = [
  [
    'ioredis',
    async () => {
      const client = new Redis(REDIS_URL);
      await client.ping();
      return { client, close: async () => void client.disconnect() };
    },
  ],
  [
    'node-redis',
    async () => {
      const client = createClient({ url: REDIS_URL });
      await client.connect();
      return { client, close: async () => client.destroy() };
    },
  ],
];

describe.each(CLIENTS)('RedisReplayStore on the app’s %s client', (name, connect) => {
  let client: RedisClientLike;
  let closeClient: () => Promise<void>;
  let store: RedisReplayStore;
  const prefix = `${PREFIX}${name}:`;

  beforeAll(async () => {
    ({ client, close: closeClient } = await connect());
    store = new RedisReplayStore(client, { keyPrefix: prefix });
  });
  afterAll(async () => {
    await closeClient();
  });

  it('answers true for a first sighting and false for the next', async () => {
    await expect(store.rememberIfAbsent('first', 10_000)).resolves.toBe(true);
    await expect(store.rememberIfAbsent('first', 10_000)).resolves.toBe(false);
  });

  it('stores the key under the prefix, with the TTL in milliseconds', async () => {
    await store.rememberIfAbsent('ttl', 10_000);
    expect(await admin.get(`${prefix}ttl`)).toBe('1');
    const pttl = await admin.pttl(`${prefix}ttl`);
    expect(pttl).toBeGreaterThan(5_000);
    expect(pttl).toBeLessThanOrEqual(10_000);
  });

  it('forgets a key once its TTL has passed', async () => {
    await store.rememberIfAbsent('short', 30);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await expect(store.rememberIfAbsent('short', 30)).resolves.toBe(true);
  });

  it('rounds a fractional or zero TTL up to a whole millisecond, which Redis requires', async () => {
    await expect(store.rememberIfAbsent('fraction', 0.4)).resolves.toBe(true);
    await expect(store.rememberIfAbsent('zero', 0)).resolves.toBe(true);
  });

  it('gives exactly one first sighting among 200 concurrent calls from two stores', async () => {
    const other = new RedisReplayStore(client, { keyPrefix: prefix });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 === 0 ? store : other).rememberIfAbsent('race', 10_000),
      ),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
  });

  it('is healthy while connected', async () => {
    await expect(store.checkHealth()).resolves.toBe(true);
  });

  it('leaves the app’s client open on close()', async () => {
    const own = new RedisReplayStore(client, { keyPrefix: prefix });
    await own.close();
    await expect(own.rememberIfAbsent('after-close', 1000)).resolves.toBe(true);
  });
});

describe.each(['ioredis', 'redis'] as const)(
  'RedisReplayStore.fromUrl with the %s package',
  (clientPackage) => {
    const prefix = `${PREFIX}url-${clientPackage}:`;

    it('is connected and ready when it resolves', async () => {
      const store = await RedisReplayStore.fromUrl(REDIS_URL, { keyPrefix: prefix, clientPackage });
      try {
        await expect(store.checkHealth()).resolves.toBe(true);
        await expect(store.rememberIfAbsent('k', 10_000)).resolves.toBe(true);
        await expect(store.rememberIfAbsent('k', 10_000)).resolves.toBe(false);
        expect(await admin.exists(`${prefix}k`)).toBe(1);
      } finally {
        await store.close();
      }
    });

    it('closes its own connection on close(): later calls fail as unavailable', async () => {
      const store = await RedisReplayStore.fromUrl(REDIS_URL, { keyPrefix: prefix, clientPackage });
      await waitUntilHealthy(store);
      await store.close();
      await expect(store.checkHealth()).resolves.toBe(false);
      await expect(store.rememberIfAbsent('closed', 1000)).rejects.toThrow(
        ReplayStoreUnavailableError,
      );
    });

    it('fails at once, as unavailable, while it cannot connect (no offline queue)', async () => {
      const store = await RedisReplayStore.fromUrl(`redis://127.0.0.1:${await freePort()}`, {
        clientPackage,
        connectTimeoutMs: 100,
      });
      try {
        await expect(store.rememberIfAbsent('nobody-home', 1000)).rejects.toThrow(
          ReplayStoreUnavailableError,
        );
        await expect(store.checkHealth()).resolves.toBe(false);
      } finally {
        await store.close();
      }
    });
  },
);

describe('RedisReplayStore defaults', () => {
  it('uses the prefix approov:replay: when none is given', async () => {
    const store = await RedisReplayStore.fromUrl(REDIS_URL);
    await store.close();
    expect(store.keyPrefix).toBe('approov:replay:');
  });
});

describe('the shared Redis the tests need', () => {
  it('when absent, fails the suite with a message naming REDIS_URL and what to do', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const error = (await connectSharedRedis(url).catch((caught: unknown) => caught)) as Error;
    expect(error.message).toContain(
      `need a Redis server at ${url} (the REDIS_URL environment variable`,
    );
    expect(error.message).toContain('Start one (redis-server) or point REDIS_URL at one');
  });
});

describe('configuration checks', () => {
  it.each([
    '',
    'not a url',
    'http://127.0.0.1:6379',
    'redis//127.0.0.1',
    'redis://',
    'file:///tmp/redis.sock',
  ])('refuses the URL %j with a message that does not repeat it', (url) => {
    expect(() => checkRedisUrl(url)).toThrow(ApproovConfigurationError);
    expect(() => checkRedisUrl(url)).toThrow(
      /must be redis:\/\/host\[:port\] or rediss:\/\/host\[:port\]/,
    );
  });

  it('never puts a URL’s password in the message', async () => {
    const error = await RedisReplayStore.fromUrl('http://user:hunter2@example.com').catch(
      (caught: Error) => caught,
    );
    expect(error).toBeInstanceOf(ApproovConfigurationError);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it.each(['redis://127.0.0.1:6379', 'rediss://user:pw@cache.internal:6380/2'])(
    'accepts %s',
    (url) => {
      expect(() => checkRedisUrl(url)).not.toThrow();
    },
  );

  it('refuses a client that is neither ioredis nor node-redis', () => {
    expect(() => new RedisReplayStore({} as RedisClientLike)).toThrow(
      /must be an ioredis or a node-redis/,
    );
  });

  it.each([' spaces ', 'x'.repeat(65), 'tab\t'])('refuses the key prefix %j', (keyPrefix) => {
    expect(() => new RedisReplayStore(new Redis({ lazyConnect: true }), { keyPrefix })).toThrow(
      /keyPrefix/,
    );
  });

  it.each([0, -1, 1.5])('refuses maxPendingCommands %p', (maxPendingCommands) => {
    expect(
      () => new RedisReplayStore(new Redis({ lazyConnect: true }), { maxPendingCommands }),
    ).toThrow(/maxPendingCommands/);
  });
});

async function waitUntilHealthy(store: RedisReplayStore): Promise<void> {
  for (let attempt = 0; attempt < 100 && !(await store.checkHealth()); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
