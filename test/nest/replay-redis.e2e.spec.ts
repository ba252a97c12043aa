import { Agent, request as httpRequest } from 'node:http';
import type { Redis } from 'ioredis';
import { RedisReplayStore } from 'nestjs-approov';
import { connectSharedRedis, deleteKeys, REDIS_URL, uniqueKeyPrefix } from '../support/redis.js';
import { ADAPTERS } from '../support/nest-app.js';
import {
  SERVED,
  UNAUTHORIZED,
  sendTo,
  signedAgain,
  signedRequest,
  type SignedRequest,
} from '../support/replay-requests.js';
import { DEFAULT_SIGNATURE_CLOCK_TOLERANCE_SEC } from '../../src/core/message-signing/options.js';
import { startReplayApp, type ReplayApp } from './apps/replay-app.js';

// Two instances of an API behind a load balancer: an Express app and a Fastify app, each with its
// own connection to the one Redis (REDIS_URL), as two machines would have.

const PREFIX = uniqueKeyPrefix('replay-redis-e2e');
const CONCURRENT_SENDS = 1000;
const SERVER_SKEW_SEC = 3;

let admin: Redis;
let express: ReplayApp;
let fastify: ReplayApp;

beforeAll(async () => {
  admin = await connectSharedRedis();
  const storeFor = (): Promise<RedisReplayStore> =>
    RedisReplayStore.fromUrl(REDIS_URL, { keyPrefix: PREFIX });
  // Atomicity is under test here, not the deadline (the fault suites test that): a thousand
  // requests on a loaded CI machine must not turn into 503s because the loop lags.
  const [[, createExpress], [, createFastify]] = ADAPTERS;
  express = await startReplayApp(createExpress!, {
    replay: { store: await storeFor(), timeoutMs: 5000, serverSkewSec: SERVER_SKEW_SEC },
  });
  fastify = await startReplayApp(createFastify!, {
    replay: { store: await storeFor(), timeoutMs: 5000, serverSkewSec: SERVER_SKEW_SEC },
  });
  await Promise.all([waitUntilReady(express), waitUntilReady(fastify)]);
});
afterAll(async () => {
  await express?.close();
  await fastify?.close();
  await deleteKeys(admin, PREFIX);
  admin.disconnect();
});
beforeEach(() => {
  express.reports.length = 0;
  fastify.reports.length = 0;
});

async function waitUntilReady(app: ReplayApp): Promise<void> {
  const { ApproovService } = await import('nestjs-approov');
  const service = app.app.get(ApproovService);
  for (let attempt = 0; attempt < 100 && !(await service.checkReplayStoreHealth()); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('replay protection shared through Redis by an Express and a Fastify instance', () => {
  it('refuses on the Fastify instance the replay of a request the Express instance served', async () => {
    const captured = signedRequest('GET', '/protected');
    expect(await sendTo(express.baseUrl, captured)).toEqual(SERVED);
    expect(await sendTo(fastify.baseUrl, captured)).toEqual(UNAUTHORIZED);
    expect(fastify.reports.map((report) => report.code)).toEqual(['signature_replayed']);
  });

  it('refuses on the Express instance the replay of a signed POST the Fastify instance served', async () => {
    const captured = signedRequest('POST', '/protected', { body: '{"transfer":{"amount":1000}}' });
    expect(await sendTo(fastify.baseUrl, captured)).toEqual(SERVED);
    expect(await sendTo(express.baseUrl, captured)).toEqual(UNAUTHORIZED);
    expect(express.reports.map((report) => report.code)).toEqual(['signature_replayed']);
  });

  it('serves on both instances two requests the device signed with identical content in one second; refuses their replays', async () => {
    const first = signedRequest('POST', '/protected', { body: '{"refresh":true}' });
    const second = signedAgain(first);
    expect(await sendTo(express.baseUrl, first)).toEqual(SERVED);
    expect(await sendTo(fastify.baseUrl, second)).toEqual(SERVED);
    expect(await sendTo(express.baseUrl, second)).toEqual(UNAUTHORIZED);
    expect(await sendTo(fastify.baseUrl, first)).toEqual(UNAUTHORIZED);
  });

  it('keeps a key until the signature can no longer pass plus the configured margin, no longer (PTTL)', async () => {
    const created = Math.floor(Date.now() / 1000);
    const tolerance = DEFAULT_SIGNATURE_CLOCK_TOLERANCE_SEC;
    const passableUntilMs = (created + 15 + tolerance) * 1000;
    const marginMs = (tolerance + SERVER_SKEW_SEC) * 1000;
    const before = new Set(await admin.keys(`${PREFIX}*`));
    const sentAt = Date.now();
    const request = signedRequest('GET', '/protected', {
      signing: { created, expires: created + 15 },
    });
    expect(await sendTo(fastify.baseUrl, request)).toEqual(SERVED);
    const added = (await admin.keys(`${PREFIX}*`)).filter((key) => !before.has(key));
    expect(added).toHaveLength(1);
    const pttl = await admin.pttl(added[0]!);
    const readAt = Date.now();
    // At most the remaining validity plus the margin (Redis rounds up to a whole millisecond)...
    expect(pttl).toBeLessThanOrEqual(passableUntilMs + marginMs - sentAt + 1);
    // ...and not shorter: another instance whose clock is behind must still find it.
    expect(pttl).toBeGreaterThanOrEqual(passableUntilMs + marginMs - readAt - 1);
    expect(pttl).toBeLessThan(60_000);
  });

  it('keeps its keys under the prefix, short (a hash, not the signature base)', async () => {
    await sendTo(express.baseUrl, signedRequest('GET', '/protected'));
    const keys = await admin.keys(`${PREFIX}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.slice(PREFIX.length)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it(`gives exactly one 200 among ${CONCURRENT_SENDS} concurrent sends of one signed request spread over both instances`, async () => {
    const captured = signedRequest('GET', '/protected');
    const agents = [express, fastify].map(() => new Agent({ keepAlive: true, maxSockets: 128 }));
    try {
      const statuses = await Promise.all(
        Array.from({ length: CONCURRENT_SENDS }, (_, i) =>
          i % 2 === 0
            ? statusOf(express, captured, agents[0]!)
            : statusOf(fastify, captured, agents[1]!),
        ),
      );
      const counts = statuses.reduce<Record<number, number>>(
        (tally, status) => ({ ...tally, [status]: (tally[status] ?? 0) + 1 }),
        {},
      );
      expect(counts).toEqual({ 200: 1, 401: CONCURRENT_SENDS - 1 });
    } finally {
      for (const agent of agents) agent.destroy();
    }
  });
});

/** Sends over a pooled connection (1,000 sockets at once would overflow the listen backlog); 10 s cap. */
function statusOf(app: ReplayApp, request: SignedRequest, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: app.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        agent,
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}
