import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { ApproovModule, RedisReplayStore, type ApproovModuleOptions } from 'nestjs-approov';
import { ApproovHealthIndicator } from 'nestjs-approov/terminus';
import {
  createApproovKeyPair,
  createApproovSecret,
  startApproovJwksServer,
} from 'nestjs-approov/testing';
import { ADAPTERS, startApp, type AdapterFactory, type RunningApp } from '../support/nest-app.js';
import { PrivateRedisServer } from '../support/redis.js';

// The Terminus indicator in a real Terminus app: /health follows a Redis of this file's own,
// stopped and restarted under the running app, and a keyset that cannot load.

const RECOVERY_BOUND_MS = 10_000;

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly approov: ApproovHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.approov.isHealthy()]);
  }
}

function healthApp(options: ApproovModuleOptions): DynamicModule {
  @Module({})
  class HealthAppModule {}
  return {
    module: HealthAppModule,
    imports: [TerminusModule, ApproovModule.forRoot(options)],
    controllers: [HealthController],
    providers: [ApproovHealthIndicator],
  };
}

const json = (body: Buffer | string) => JSON.parse(body.toString()) as Record<string, unknown>;

let redis: PrivateRedisServer;
beforeAll(async () => {
  redis = await PrivateRedisServer.start();
});
afterAll(async () => {
  await redis.stop();
});

/** Asks /health until it gives `status` (bounded): the client reconnects by itself. */
async function waitForHealth(app: RunningApp, status: number): Promise<void> {
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  while ((await app.get('/health')).status !== status) {
    if (Date.now() > deadline) throw new Error(`/health did not give ${status} in time`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(ADAPTERS)('ApproovHealthIndicator on %s', (_name, createAdapter: AdapterFactory) => {
  it('gives 200, then 503 naming the replay store while Redis is stopped, then 200 again without a restart', async () => {
    const store = await RedisReplayStore.fromUrl(redis.url, { keyPrefix: 'terminus-test:' });
    const app = await startApp(
      healthApp({ secret: createApproovSecret(), replay: { store } }),
      createAdapter,
    );
    try {
      const up = await app.get('/health');
      expect(up.status).toBe(200);
      expect(json(up.body)).toEqual({
        status: 'ok',
        info: { approov: { status: 'up', replayStore: 'up' } },
        error: {},
        details: { approov: { status: 'up', replayStore: 'up' } },
      });

      await redis.stop();
      const down = await app.get('/health');
      expect(down.status).toBe(503);
      expect(json(down.body)).toMatchObject({
        status: 'error',
        error: {
          approov: {
            status: 'down',
            reason: 'the replay store did not answer',
            replayStore: 'down',
          },
        },
      });

      await redis.restart();
      await waitForHealth(app, 200);
      expect(json((await app.get('/health')).body)).toMatchObject({ status: 'ok' });
    } finally {
      if (!redis.running) await redis.restart();
      await app.close();
    }
  });

  it('gives 503 naming the keyset while it has never loaded, and 200 with its status once it has', async () => {
    const jwks = await startApproovJwksServer(createApproovKeyPair('ES256', 'k1'));
    jwks.fail('error');
    const app = await startApp(
      healthApp({
        jwksUri: jwks.url,
        keyset: { requireAtBoot: false, cooldownSec: 1 },
      }),
      createAdapter,
    );
    try {
      const down = await app.get('/health');
      expect(down.status).toBe(503);
      const approov = (json(down.body).error as Record<string, Record<string, unknown>>).approov;
      expect(approov).toMatchObject({
        status: 'down',
        reason: 'the keyset has never loaded',
        replayStore: 'up',
        keyset: { state: 'not_loaded', usable: false, keyCount: 0, lastError: expect.any(String) },
      });
      expect(JSON.stringify(approov)).not.toContain(jwks.url);

      jwks.fail(null);
      await waitForHealth(app, 200);
      const up = json((await app.get('/health')).body);
      expect(up.details).toMatchObject({
        approov: {
          status: 'up',
          keyset: { state: 'fresh', usable: true, keyCount: 1, lastFetchAt: expect.any(String) },
        },
      });
    } finally {
      await app.close();
      await jwks.close();
    }
  });
});
