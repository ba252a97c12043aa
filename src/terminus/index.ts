// `nestjs-approov/terminus`: the module's health for @nestjs/terminus. Only this entry imports
// @nestjs/terminus, so an app without it never loads it. ApproovService comes through the package's
// own entry, so the indicator injects the very class the app's ApproovModule provides.
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ApproovService } from 'nestjs-approov';

/** How long the replay store has to answer the health check (a Redis store also stops at 1 s). */
export const APPROOV_HEALTH_STORE_DEADLINE_MS = 1_000;

type StoreAnswer = 'up' | 'down' | 'failed';

/**
 * A Terminus health indicator for the Approov checks. Up when the replay store answers within
 * APPROOV_HEALTH_STORE_DEADLINE_MS (the default in-memory store always does) and the keyset, when
 * `jwksUri` is set, holds usable keys (fresh, or stale within `keyset.maxStaleSec`). Down, with a
 * `reason`, when the store does not answer, or the keyset never loaded or has expired: then the
 * keyset tokens are answered 503. The details hold the keyset's status: times, a count, the last
 * fetch error, never key material or its URL.
 */
@Injectable()
export class ApproovHealthIndicator {
  constructor(
    private readonly approov: ApproovService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy<const Key extends string = 'approov'>(
    key: Key = 'approov' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.health.check(key);
    const store = await this.askReplayStore();
    const keyset = this.approov.keysetStatus();
    const reasons: string[] = [];
    if (store === 'down') reasons.push('the replay store did not answer');
    if (store === 'failed') reasons.push('the replay store health check failed');
    if (keyset?.state === 'not_loaded') reasons.push('the keyset has never loaded');
    if (keyset?.state === 'expired') reasons.push('the keyset is stale past keyset.maxStaleSec');
    const details = {
      replayStore: store === 'up' ? 'up' : 'down',
      ...(keyset === undefined ? {} : { keyset }),
    };
    return reasons.length === 0
      ? indicator.up(details)
      : indicator.down({ reason: reasons.join('; '), ...details });
  }

  private async askReplayStore(): Promise<StoreAnswer> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<StoreAnswer>((resolve) => {
      timer = setTimeout(resolve, APPROOV_HEALTH_STORE_DEADLINE_MS, 'down');
    });
    try {
      return await Promise.race([
        this.approov.checkReplayStoreHealth().then(
          (healthy): StoreAnswer => (healthy ? 'up' : 'down'),
          (): StoreAnswer => 'failed',
        ),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
