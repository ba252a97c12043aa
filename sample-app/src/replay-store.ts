import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import {
  ApproovConfigurationError,
  RedisReplayStore,
  type ApproovReplayOptions,
} from 'nestjs-approov';

const DEFAULT_KEY_PREFIX = 'approov-sample:replay:';

/**
 * Where signed requests are remembered: this process's memory by default (enough for one
 * instance), Redis when REDIS_URL is set, so that every instance shares one memory and a replay
 * sent to another instance is refused too. REDIS_KEY_PREFIX keeps apps sharing a Redis apart.
 * A bad value stops the boot with the variable's name (never its value: a URL may hold a password).
 */
export async function replayOptionsFromConfig(
  config: ConfigService,
): Promise<ApproovReplayOptions> {
  const url = config.get<string>('REDIS_URL');
  if (url === undefined) {
    Logger.log(
      'Replay store: in memory (set REDIS_URL to share it between instances)',
      'SampleApp',
    );
    return {};
  }
  const keyPrefix = config.get<string>('REDIS_KEY_PREFIX') ?? DEFAULT_KEY_PREFIX;
  let store: RedisReplayStore;
  try {
    store = await RedisReplayStore.fromUrl(url, { keyPrefix });
  } catch (error) {
    if (!(error instanceof ApproovConfigurationError)) throw error;
    const variable = /keyPrefix/.test(error.message) ? 'REDIS_KEY_PREFIX' : 'REDIS_URL';
    throw new ApproovConfigurationError(`${variable}: ${error.message}`);
  }
  Logger.log(`Replay store: Redis, keys under "${keyPrefix}"`, 'SampleApp');
  return { store };
}
