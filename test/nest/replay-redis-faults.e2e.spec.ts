import { ApproovService, RedisReplayStore } from 'nestjs-approov';
import { PrivateRedisServer } from '../support/redis.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS } from '../support/nest-app.js';
import {
  SERVED,
  UNAUTHORIZED,
  UNAVAILABLE,
  sendTo,
  signedRequest,
  type Reply,
} from '../support/replay-requests.js';
import { startReplayApp, type ReplayApp } from './apps/replay-app.js';

// The apps' Redis is a redis-server of this file's own (no persistence), stopped, paused and
// restarted under them. "No hang" is asserted as an answer well inside HANG_BOUND_MS, never as a speed.

const HANG_BOUND_MS = 2000;
const RECOVERY_BOUND_MS = 10_000;
const BATCH = 20;

let server: PrivateRedisServer;

beforeAll(async () => {
  server = await PrivateRedisServer.start();
});
afterAll(async () => {
  server.resume();
  await server.stop();
});

async function timedSend(app: ReplayApp, path = '/protected'): Promise<Reply & { ms: number }> {
  const start = performance.now();
  const reply = await sendTo(app.baseUrl, signedRequest('GET', path));
  return { ...reply, ms: performance.now() - start };
}

/** Waits (bounded) until the app's replay store answers its health check. */
async function waitForHealthyStore(app: ReplayApp): Promise<void> {
  const service = app.app.get(ApproovService);
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  while (!(await service.checkReplayStoreHealth())) {
    if (Date.now() > deadline)
      throw new Error(`the replay store was not healthy within ${RECOVERY_BOUND_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends fresh signed requests until one is served (bounded): the store answers again. */
async function waitForProtection(app: ReplayApp): Promise<void> {
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  while ((await sendTo(app.baseUrl, signedRequest('GET', '/protected'))).status !== 200) {
    if (Date.now() > deadline)
      throw new Error(`protection did not resume within ${RECOVERY_BOUND_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(ADAPTERS)('Redis faults under an %s app', (_name, createAdapter) => {
  let app: ReplayApp;

  beforeAll(async () => {
    app = await startReplayApp(createAdapter, {
      replay: { store: await RedisReplayStore.fromUrl(server.url) },
    });
    await waitForProtection(app);
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(async () => {
    server.resume();
    if (!server.running) await server.restart();
    await waitForProtection(app);
    app.reports.length = 0;
  });

  it('answers 503 to every signed request, none hanging and no other 5xx, while Redis is stopped', async () => {
    await server.stop();
    app.reports.length = 0;
    const replies = await Promise.all(Array.from({ length: BATCH }, () => timedSend(app)));
    expect(replies.map(({ status, body }) => ({ status, body }))).toEqual(
      Array(BATCH).fill(UNAVAILABLE),
    );
    for (const { ms } of replies) expect(ms).toBeLessThan(HANG_BOUND_MS);
    expect(new Set(app.reports.map((report) => report.code))).toEqual(
      new Set(['replay_store_unavailable']),
    );
  });

  it('answers 503 within the deadline, none hanging, while Redis is paused (SIGSTOP)', async () => {
    server.pause();
    const replies = await Promise.all(Array.from({ length: BATCH }, () => timedSend(app)));
    expect(replies.map(({ status, body }) => ({ status, body }))).toEqual(
      Array(BATCH).fill(UNAVAILABLE),
    );
    for (const { ms } of replies) expect(ms).toBeLessThan(HANG_BOUND_MS);
  });

  it('keeps serving token-only routes while Redis is stopped', async () => {
    await server.stop();
    const { 'approov-token': token } = signedRequest('GET', '/token-only').headers;
    expect(
      await sendTo(app.baseUrl, {
        method: 'GET',
        path: '/token-only',
        headers: { 'approov-token': token },
      }),
    ).toEqual(SERVED);
  });

  it('resumes protection after Redis restarts, with no restart of the app', async () => {
    await server.stop();
    expect((await timedSend(app)).status).toBe(503);
    await server.restart();
    await waitForProtection(app);
    const captured = signedRequest('GET', '/protected');
    expect([await sendTo(app.baseUrl, captured), await sendTo(app.baseUrl, captured)]).toEqual([
      SERVED,
      UNAUTHORIZED,
    ]);
  });

  it('after a restart that lost the data, serves a replay of a request seen before it, once', async () => {
    const captured = signedRequest('GET', '/protected');
    expect(await sendTo(app.baseUrl, captured)).toEqual(SERVED);
    await server.stop();
    await server.restart();
    await waitForProtection(app);
    expect([await sendTo(app.baseUrl, captured), await sendTo(app.baseUrl, captured)]).toEqual([
      SERVED,
      UNAUTHORIZED,
    ]);
  });

  it('is healthy again for a readiness probe once Redis is back', async () => {
    const service = app.app.get(ApproovService);
    await server.stop();
    await expect(service.checkReplayStoreHealth()).resolves.toBe(false);
    await server.restart();
    await waitForProtection(app);
    await expect(service.checkReplayStoreHealth()).resolves.toBe(true);
  });
});

describe.each(ADAPTERS)('failing open under an %s app', (_name, createAdapter) => {
  let app: ReplayApp;

  beforeAll(async () => {
    app = await startReplayApp(createAdapter, {
      replay: { store: await RedisReplayStore.fromUrl(server.url), failOpen: true },
    });
    // Failing open serves either way: only the store's health says it is connected.
    await waitForHealthyStore(app);
  });
  afterAll(async () => {
    await app.close();
    server.resume();
    if (!server.running) await server.restart();
  });

  it('serves signed requests while Redis is stopped, and reports each one', async () => {
    await server.stop();
    app.reports.length = 0;
    logCapture.logger.lines.length = 0;
    const replies = await Promise.all(Array.from({ length: 5 }, () => timedSend(app)));
    expect(replies.map(({ status, body }) => ({ status, body }))).toEqual(Array(5).fill(SERVED));
    expect(app.reports.map(({ code, failedOpen }) => ({ code, failedOpen }))).toEqual(
      Array(5).fill({ code: 'replay_store_unavailable', failedOpen: true }),
    );
    const failedOpen = logCapture
      .approovLines()
      .filter((line) =>
        line.message.startsWith('failed open replay_store_unavailable http GET /protected'),
      );
    expect(failedOpen).toHaveLength(5);
  });

  it('protects again once Redis is back', async () => {
    if (!server.running) await server.restart();
    await waitForHealthyStore(app);
    const captured = signedRequest('GET', '/protected');
    expect([await sendTo(app.baseUrl, captured), await sendTo(app.baseUrl, captured)]).toEqual([
      SERVED,
      UNAUTHORIZED,
    ]);
  });
});
