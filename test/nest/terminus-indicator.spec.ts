import { HealthIndicatorService } from '@nestjs/terminus';
import type { ApproovKeysetStatus, ApproovService } from 'nestjs-approov';
import { ApproovHealthIndicator, APPROOV_HEALTH_STORE_DEADLINE_MS } from 'nestjs-approov/terminus';
import { jest } from '@jest/globals';
import { fakeDateAndTimeouts, realClock } from '../support/fake-clock.js';

// The indicator's verdicts on each state of the store and the keyset, over a stand-in service.

const status = (state: ApproovKeysetStatus['state']): ApproovKeysetStatus => ({
  state,
  usable: state === 'fresh' || state === 'stale',
  keyCount: state === 'not_loaded' ? 0 : 2,
  lastFetchAt: state === 'not_loaded' ? undefined : new Date(0),
  usableUntil: undefined,
  lastError: undefined,
  lastErrorAt: undefined,
});

function indicator(storeHealth: () => Promise<boolean>, keyset?: ApproovKeysetStatus) {
  const service = {
    checkReplayStoreHealth: storeHealth,
    keysetStatus: () => keyset,
  } as unknown as ApproovService;
  return new ApproovHealthIndicator(service, new HealthIndicatorService());
}

afterEach(realClock);

describe('ApproovHealthIndicator', () => {
  it('is up with a store that answers and no keyset, under the key given', async () => {
    await expect(indicator(async () => true).isHealthy()).resolves.toEqual({
      approov: { status: 'up', replayStore: 'up' },
    });
    await expect(indicator(async () => true).isHealthy('edge')).resolves.toEqual({
      edge: { status: 'up', replayStore: 'up' },
    });
  });

  it('is up with fresh or stale keys, with their status in the details', async () => {
    for (const state of ['fresh', 'stale'] as const)
      await expect(indicator(async () => true, status(state)).isHealthy()).resolves.toEqual({
        approov: { status: 'up', replayStore: 'up', keyset: status(state) },
      });
  });

  it('is down naming each reason: a store that says no, fails its check, a keyset never loaded or expired', async () => {
    const cases: Array<[() => Promise<boolean>, ApproovKeysetStatus | undefined, string]> = [
      [async () => false, undefined, 'the replay store did not answer'],
      [() => Promise.reject(new Error('x')), undefined, 'the replay store health check failed'],
      [async () => true, status('not_loaded'), 'the keyset has never loaded'],
      [async () => true, status('expired'), 'the keyset is stale past keyset.maxStaleSec'],
      [
        async () => false,
        status('expired'),
        'the replay store did not answer; the keyset is stale past keyset.maxStaleSec',
      ],
    ];
    for (const [store, keyset, reason] of cases) {
      const result = await indicator(store, keyset).isHealthy();
      expect(result.approov).toMatchObject({ status: 'down', reason });
    }
  });

  it('is down when the store has not answered by the deadline', async () => {
    fakeDateAndTimeouts();
    const pending = indicator(() => new Promise<boolean>(() => {})).isHealthy();
    await jest.advanceTimersByTimeAsync(APPROOV_HEALTH_STORE_DEADLINE_MS);
    await expect(pending).resolves.toEqual({
      approov: { status: 'down', reason: 'the replay store did not answer', replayStore: 'down' },
    });
  });
});
