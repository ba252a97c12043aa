import { jest } from '@jest/globals';
import { ApproovService, RedisReplayStore } from 'nestjs-approov';
import { ADAPTERS, type AdapterFactory } from '../support/nest-app.js';
import {
  connectClusterClient,
  LocalRedisCluster,
  type ClusterClientKind,
  type ClusterNode,
} from '../support/redis-cluster.js';
import {
  SERVED,
  UNAUTHORIZED,
  UNAVAILABLE,
  sendTo,
  signedRequest,
  type Reply,
} from '../support/replay-requests.js';
import { startReplayApp, type ReplayApp } from './apps/replay-app.js';

// A master of the apps' Redis Cluster (this file's own) stops answering (SIGSTOP: a hung or cut-off
// host), first while the other masters still serve their slots, then once the cluster has declared
// itself down. Two instances: Express on an ioredis Cluster, Fastify on a node-redis cluster.
// "No hang" is asserted as an answer well inside HANG_BOUND_MS, never as a speed.

const PREFIX = 'approov-test:replay-cluster-faults:';
// Short, so the cluster declares the silent master failed (and forgives it) within the suite.
const NODE_TIMEOUT_MS = 3000;
const STORE_TIMEOUT_MS = 250;
const HANG_BOUND_MS = 2000;
const RECOVERY_BOUND_MS = 20_000;
const MAX_PROBES = 60;

interface Instance {
  name: string;
  app: ReplayApp;
  /** The keys the app asked its store about, in order, and what each call settled to. */
  remember: ReturnType<typeof spyOnStore>;
  closeClient: () => Promise<void>;
}

const spyOnStore = (store: RedisReplayStore) => jest.spyOn(store, 'rememberIfAbsent');

const [[, createExpress], [, createFastify]] = ADAPTERS;
const SETUPS: ReadonlyArray<readonly [string, AdapterFactory, ClusterClientKind]> = [
  ['Express on ioredis', createExpress!, 'ioredis'],
  ['Fastify on node-redis', createFastify!, 'node-redis'],
];
const NAMES = SETUPS.map(([name]) => name);

let cluster: LocalRedisCluster;
const instances: Instance[] = [];
const instance = (name: string): Instance => instances.find((one) => one.name === name)!;

beforeAll(async () => {
  cluster = await LocalRedisCluster.start({ nodeTimeoutMs: NODE_TIMEOUT_MS });
  for (const [name, createAdapter, kind] of SETUPS) {
    const { client, close: closeClient } = await connectClusterClient(cluster, kind);
    const store = new RedisReplayStore(client, { keyPrefix: PREFIX });
    const remember = spyOnStore(store);
    const app = await startReplayApp(createAdapter, {
      replay: { store, timeoutMs: STORE_TIMEOUT_MS },
    });
    instances.push({ name, app, remember, closeClient });
  }
});
afterAll(async () => {
  for (const one of instances) {
    await one.app.close();
    await one.closeClient();
  }
  await cluster?.stop();
});

interface Probe {
  /** Whether the request's key lands on a slot of the stopped master. */
  onStoppedMaster: boolean;
  reply: Reply;
  ms: number;
}

/** Sends one fresh signed request; where its key lands, and the answer. */
async function probe(target: Instance, stopped: ClusterNode): Promise<Probe> {
  const start = performance.now();
  const reply = await sendTo(target.app.baseUrl, signedRequest('GET', '/protected'));
  const ms = performance.now() - start;
  const key = PREFIX + target.remember.mock.calls.at(-1)![0];
  const onStoppedMaster = (await cluster.masterOf(await cluster.slotOf(key))) === stopped;
  return { onStoppedMaster, reply, ms };
}

describe('a master that stops answering (SIGSTOP)', () => {
  let stopped: ClusterNode;
  const probes = new Map<string, Probe[]>();

  beforeAll(async () => {
    stopped = cluster.nodes[1]!;
    cluster.pause(stopped);
    // Fresh signed requests until each instance has had a key on the stopped master and one
    // elsewhere (a third of keys land on each master), well before the cluster notices.
    await Promise.all(
      instances.map(async (target) => {
        const sent: Probe[] = [];
        while (
          sent.length < MAX_PROBES &&
          !(sent.some((p) => p.onStoppedMaster) && sent.some((p) => !p.onStoppedMaster))
        ) {
          sent.push(await probe(target, stopped));
        }
        probes.set(target.name, sent);
      }),
    );
  });
  afterAll(async () => {
    cluster.resume(stopped);
  });

  it.each(NAMES)(
    'answers 503 within the deadline on the %s instance to a signed request whose key lands on its slots',
    (name) => {
      const onStopped = probes.get(name)!.filter((p) => p.onStoppedMaster);
      expect(onStopped.length).toBeGreaterThan(0);
      expect(onStopped.map((p) => p.reply)).toEqual(onStopped.map(() => UNAVAILABLE));
      for (const { ms } of onStopped) expect(ms).toBeLessThan(HANG_BOUND_MS);
    },
  );

  it.each(NAMES)(
    'keeps serving on the %s instance signed requests whose keys land on the other masters',
    (name) => {
      const elsewhere = probes.get(name)!.filter((p) => !p.onStoppedMaster);
      expect(elsewhere.length).toBeGreaterThan(0);
      expect(elsewhere.map((p) => p.reply)).toEqual(elsewhere.map(() => SERVED));
    },
  );

  it('tells a readiness probe on either instance that the store cannot answer', async () => {
    const health = await Promise.all(
      instances.map(({ app }) => app.app.get(ApproovService).checkReplayStoreHealth()),
    );
    expect(health).toEqual([false, false]);
  });

  it('answers 503 on every slot once the cluster declares itself down, node-redis naming CLUSTERDOWN', async () => {
    await cluster.waitForState('fail', RECOVERY_BOUND_MS);
    for (const target of instances) {
      target.remember.mockClear();
      for (let i = 0; i < 6; i++) {
        const { reply, ms } = await probe(target, stopped);
        expect(reply).toEqual(UNAVAILABLE);
        expect(ms).toBeLessThan(HANG_BOUND_MS);
      }
    }
    // ioredis retries CLUSTERDOWN for longer than the deadline; node-redis passes it on at once
    // (from the masters that answer: a call to the stopped one is still waiting).
    const { calls, results } = instance('Fastify on node-redis').remember.mock;
    const errors: string[] = [];
    for (const [i, [key]] of calls.entries()) {
      if ((await cluster.masterOf(await cluster.slotOf(PREFIX + key))) === stopped) continue;
      const outcome = await (results[i]!.value as Promise<boolean>).catch((error: Error) => error);
      errors.push(outcome instanceof Error ? outcome.message : String(outcome));
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['Redis did not answer (CLUSTERDOWN)']));
  });

  it('protects every slot again once the master is back: served once, then refused on the other instance', async () => {
    cluster.resume(stopped);
    await cluster.waitForState('ok', RECOVERY_BOUND_MS);
    for (const target of instances) await waitForHealthyStore(target);
    const [express, fastify] = instances;
    for (let i = 0; i < 6; i++) {
      const captured = signedRequest('GET', '/protected');
      expect(await sendTo(express!.app.baseUrl, captured)).toEqual(SERVED);
      expect(await sendTo(fastify!.app.baseUrl, captured)).toEqual(UNAUTHORIZED);
    }
  });
});

/** Waits (bounded) until the instance's replay store answers its health check. */
async function waitForHealthyStore(target: Instance): Promise<void> {
  const service = target.app.app.get(ApproovService);
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  while (!(await service.checkReplayStoreHealth())) {
    if (Date.now() > deadline)
      throw new Error(`the replay store was not healthy within ${RECOVERY_BOUND_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
