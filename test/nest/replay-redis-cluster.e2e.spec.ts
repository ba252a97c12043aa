import { ApproovService, RedisReplayStore, type RedisClientLike } from 'nestjs-approov';
import { DEFAULT_SIGNATURE_CLOCK_TOLERANCE_SEC } from '../../src/core/message-signing/options.js';
import { DEFAULT_SERVER_SKEW_SEC } from '../../src/core/replay/replay-options.js';
import { ADAPTERS } from '../support/nest-app.js';
import {
  connectClusterClient,
  LocalRedisCluster,
  type ClusterClientKind,
} from '../support/redis-cluster.js';
import { SERVED, UNAUTHORIZED, sendTo, signedRequest } from '../support/replay-requests.js';
import { startReplayApp, type ReplayApp } from './apps/replay-app.js';

// Two instances of an API on one Redis Cluster (three masters, this file's own): an Express app
// and a Fastify app, each with its own cluster client, as two machines would have.

const PREFIX = 'approov-test:replay-cluster-e2e:';
const [[, createExpress], [, createFastify]] = ADAPTERS;

let cluster: LocalRedisCluster;

beforeAll(async () => {
  cluster = await LocalRedisCluster.start();
});
afterAll(async () => {
  await cluster?.stop();
});

interface Instance {
  app: ReplayApp;
  client: RedisClientLike;
  closeClient: () => Promise<void>;
}

const PAIRS: ReadonlyArray<readonly [ClusterClientKind, ClusterClientKind]> = [
  ['ioredis', 'ioredis'],
  ['node-redis', 'node-redis'],
  ['ioredis', 'node-redis'],
];

describe.each(PAIRS)(
  'an Express instance (%s cluster client) and a Fastify instance (%s cluster client)',
  (expressClient, fastifyClient) => {
    const prefix = `${PREFIX}${expressClient}-${fastifyClient}:`;
    let express: Instance;
    let fastify: Instance;

    async function startInstance(
      createAdapter: typeof createExpress,
      kind: ClusterClientKind,
    ): Promise<Instance> {
      const { client, close: closeClient } = await connectClusterClient(cluster, kind);
      // Sharing is under test here, not the deadline (the faults suite tests that).
      const app = await startReplayApp(createAdapter!, {
        replay: { store: new RedisReplayStore(client, { keyPrefix: prefix }), timeoutMs: 5000 },
      });
      return { app, client, closeClient };
    }

    beforeAll(async () => {
      express = await startInstance(createExpress, expressClient);
      fastify = await startInstance(createFastify, fastifyClient);
    });
    afterAll(async () => {
      for (const instance of [express, fastify]) {
        await instance?.app.close();
        await instance?.closeClient();
      }
    });
    beforeEach(() => {
      express.app.reports.length = 0;
      fastify.app.reports.length = 0;
    });

    it('refuses on the Fastify instance the replay of a request the Express instance served', async () => {
      const captured = signedRequest('GET', '/protected');
      expect(await sendTo(express.app.baseUrl, captured)).toEqual(SERVED);
      expect(await sendTo(fastify.app.baseUrl, captured)).toEqual(UNAUTHORIZED);
      expect(fastify.app.reports.map((report) => report.code)).toEqual(['signature_replayed']);
    });

    it('refuses on the Express instance the replay of a signed POST the Fastify instance served', async () => {
      const captured = signedRequest('POST', '/protected', {
        body: '{"transfer":{"amount":1000}}',
      });
      expect(await sendTo(fastify.app.baseUrl, captured)).toEqual(SERVED);
      expect(await sendTo(express.app.baseUrl, captured)).toEqual(UNAUTHORIZED);
      expect(express.app.reports.map((report) => report.code)).toEqual(['signature_replayed']);
    });

    it('keeps the key on its master until the signature can no longer pass, plus the shared-store margin: the clock tolerance and the server skew allowance (PTTL)', async () => {
      const created = Math.floor(Date.now() / 1000);
      const expires = created + 15;
      const expiresAtMs =
        (expires + 2 * DEFAULT_SIGNATURE_CLOCK_TOLERANCE_SEC + DEFAULT_SERVER_SKEW_SEC) * 1000;
      const before = new Set(await cluster.keys(prefix));
      const sentAt = Date.now();
      expect(
        await sendTo(
          express.app.baseUrl,
          signedRequest('GET', '/protected', { signing: { created, expires } }),
        ),
      ).toEqual(SERVED);
      const added = (await cluster.keys(prefix)).filter((key) => !before.has(key));
      expect(added).toHaveLength(1);
      const owner = await cluster.masterOf(await cluster.slotOf(added[0]!));
      const pttl = await owner.admin.pttl(added[0]!);
      const readAt = Date.now();
      // Redis rounds the TTL it was given up to a whole millisecond, and counts from its own receipt.
      expect(pttl).toBeLessThanOrEqual(expiresAtMs - sentAt + 1);
      expect(pttl).toBeGreaterThanOrEqual(expiresAtMs - readAt - 1);
    });

    it('answers a readiness probe on both instances: every master serves its slots', async () => {
      for (const { app } of [express, fastify]) {
        await expect(app.app.get(ApproovService).checkReplayStoreHealth()).resolves.toBe(true);
      }
    });

    it('leaves the app’s cluster client open when the app shuts down', async () => {
      const { app, client, closeClient } = await startInstance(createExpress, expressClient);
      await app.close();
      try {
        const store = new RedisReplayStore(client, { keyPrefix: prefix });
        await expect(store.rememberIfAbsent('after-app-close', 1000)).resolves.toBe(true);
      } finally {
        await closeClient();
      }
    });
  },
);
