import { Redis } from 'ioredis';
import { RedisReplayStore, type RedisClientLike } from 'nestjs-approov';
import { ReplayStoreUnavailableError } from '../../../src/core/errors.js';
import {
  CLUSTER_CLIENT_KINDS,
  connectClusterClient,
  LocalRedisCluster,
  type ClusterNode,
} from '../../support/redis-cluster.js';

// RedisReplayStore on a three-master Redis Cluster of this file's own, through the cluster client
// of each package, as an app would build it.

const PREFIX = 'approov-test:redis-cluster:';
// Enough keys that each master gets some: all missing one master is 3 x (2/3)^40, about 2e-7.
const SPREAD_KEYS = 40;

let cluster: LocalRedisCluster;

beforeAll(async () => {
  cluster = await LocalRedisCluster.start();
});
afterAll(async () => {
  await cluster?.stop();
});

async function masterOfKey(key: string): Promise<ClusterNode> {
  return cluster.masterOf(await cluster.slotOf(key));
}

describe.each(CLUSTER_CLIENT_KINDS)('RedisReplayStore on the app’s %s cluster client', (kind) => {
  let client: RedisClientLike;
  let closeClient: () => Promise<void>;
  let store: RedisReplayStore;
  const prefix = `${PREFIX}${kind}:`;

  beforeAll(async () => {
    ({ client, close: closeClient } = await connectClusterClient(cluster, kind));
    store = new RedisReplayStore(client, { keyPrefix: prefix });
  });
  afterAll(async () => {
    await closeClient?.();
  });

  it('answers true for a first sighting and false for the next, on keys spread over every master', async () => {
    const keys = Array.from({ length: SPREAD_KEYS }, (_, i) => `spread-${i}`);
    const firsts = await Promise.all(keys.map((key) => store.rememberIfAbsent(key, 10_000)));
    const seconds = await Promise.all(keys.map((key) => store.rememberIfAbsent(key, 10_000)));
    expect([new Set(firsts), new Set(seconds)]).toEqual([new Set([true]), new Set([false])]);
    const owners = await Promise.all(keys.map((key) => masterOfKey(prefix + key)));
    expect(new Set(owners).size).toBe(cluster.nodes.length);
  });

  it('stores each key on the master of its slot, with the TTL in milliseconds', async () => {
    const keys = ['ttl-a', 'ttl-b', 'ttl-c', 'ttl-d'];
    for (const key of keys) await store.rememberIfAbsent(key, 10_000);
    for (const key of keys) {
      const owner = await masterOfKey(prefix + key);
      expect(await owner.admin.get(prefix + key)).toBe('1');
      const pttl = await owner.admin.pttl(prefix + key);
      expect(pttl).toBeGreaterThan(5_000);
      expect(pttl).toBeLessThanOrEqual(10_000);
    }
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

  it('is healthy while every master serves its slots', async () => {
    await expect(store.checkHealth()).resolves.toBe(true);
  });

  it('leaves the app’s cluster client open on close()', async () => {
    const own = new RedisReplayStore(client, { keyPrefix: prefix });
    await own.close();
    await expect(own.rememberIfAbsent('after-close', 1000)).resolves.toBe(true);
    await expect(own.checkHealth()).resolves.toBe(true);
  });
});

describe('a plain (non-cluster) client on one node of a cluster', () => {
  let client: Redis;
  let store: RedisReplayStore;

  beforeAll(async () => {
    client = new Redis(cluster.nodes[0]!.url);
    client.on('error', () => {});
    await client.ping();
    store = new RedisReplayStore(client, { keyPrefix: `${PREFIX}plain:` });
  });
  afterAll(() => {
    client.disconnect();
  });

  it('answers unavailable for a key of another master, saying that a cluster client is needed', async () => {
    let key = 0;
    while ((await masterOfKey(`${PREFIX}plain:${key}`)) === cluster.nodes[0]) key++;
    const error = (await store
      .rememberIfAbsent(String(key), 1000)
      .catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(ReplayStoreUnavailableError);
    expect(error.message).toBe(
      'Redis redirected the command (MOVED): a Redis Cluster needs a cluster client (ioredis Cluster, node-redis createCluster)',
    );
  });
});

describe('the health of a cluster, from what the masters the client knows say', () => {
  const info = (state: string, size: number): string =>
    `cluster_enabled:1\r\ncluster_state:${state}\r\ncluster_slots_assigned:16384\r\ncluster_size:${size}\r\n`;
  /** An ioredis Cluster as the store sees it, its masters answering CLUSTER INFO with `replies`. */
  const ioredisCluster = (replies: string[]): RedisClientLike => {
    const fake = {
      isCluster: true,
      status: 'ready',
      call: () => Promise.resolve('OK'),
      disconnect: () => {},
      nodes: () =>
        replies.map((reply) => ({
          status: 'ready',
          call: () => Promise.resolve(reply),
          disconnect: () => {},
        })),
    };
    return fake;
  };

  it('is healthy when every master says cluster_state:ok and the client knows every master', async () => {
    const store = new RedisReplayStore(
      ioredisCluster([info('ok', 3), info('ok', 3), info('ok', 3)]),
    );
    await expect(store.checkHealth()).resolves.toBe(true);
  });

  it('is unhealthy when a master says the cluster is down', async () => {
    const store = new RedisReplayStore(
      ioredisCluster([info('ok', 3), info('fail', 3), info('ok', 3)]),
    );
    await expect(store.checkHealth()).resolves.toBe(false);
  });

  it('is unhealthy when the client lost a master that still serves slots', async () => {
    const store = new RedisReplayStore(ioredisCluster([info('ok', 3), info('ok', 3)]));
    await expect(store.checkHealth()).resolves.toBe(false);
  });

  it('is unhealthy while the client knows no master yet', async () => {
    await expect(new RedisReplayStore(ioredisCluster([])).checkHealth()).resolves.toBe(false);
  });
});
