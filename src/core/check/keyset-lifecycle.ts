import { ApproovConfigurationError } from '../errors.js';
import type { JwksKeySet, KeySetEvent } from '../keys/keyset.js';
import type { ApproovLog } from './log.js';

/** One line per key-set change or failed fetch: counts and reasons, never key material or the URL. */
export function logKeySetEvents(keyset: JwksKeySet, log: ApproovLog): void {
  keyset.onEvent((event) => {
    if (event.type === 'loaded') {
      if (!event.changed) return;
      log(
        'log',
        `keyset loaded: ${event.keyCount} key(s)` +
          (event.skipped.length > 0 ? `; ignored ${event.skipped.join('; ')}` : ''),
      );
    } else {
      log(
        'warn',
        `keyset fetch failed: ${event.reason}; ` +
          (event.serving === 'stale'
            ? 'serving the last keys'
            : 'no keys: keyset tokens are answered 503'),
      );
    }
  });
}

/**
 * Fetches the JWKS before the app serves. When it cannot load, throws naming `setting`, unless
 * `requireAtBoot` is false: then the app starts, answers 503 on guarded routes, and keeps
 * retrying in the background.
 */
export async function startKeySet(
  keyset: JwksKeySet,
  requireAtBoot: boolean,
  setting: string,
): Promise<void> {
  let failure = 'no usable keys';
  keyset.onEvent((event: KeySetEvent) => {
    if (event.type === 'fetch_failed') failure = event.reason;
  });
  if ((await keyset.start()) || !requireAtBoot) return;
  keyset.close();
  throw new ApproovConfigurationError(
    `Approov ${setting}: the key set could not be loaded at boot (${failure}). ` +
      'Check the URL, or set keyset.requireAtBoot to false to start anyway and answer 503 until keys load.',
  );
}
