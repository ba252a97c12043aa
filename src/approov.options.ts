import type { ApproovFailure } from './core/failure.js';
import type { RejectLogOptions } from './core/check/reject-log.js';
import type { ApproovCheckReport } from './core/check/check-report.js';
import type { ApproovMessageSigningOptions } from './core/message-signing/options.js';
import type { ApproovReplayOptions } from './core/replay/replay-options.js';

/** Everything ApproovModule.forRoot() / forRootAsync() accepts. Each option is checked at boot. */
export interface ApproovModuleOptions {
  // Token and keys
  /**
   * The Approov account secret, as printed by `approov secret -get base64` (or `base64url`).
   * An array enables rotation: a token signed with any of them is accepted.
   * Default: the APPROOV_BASE64_SECRET environment variable, then APPROOV_BASE64URL_SECRET.
   * Entries may carry the key id Approov puts in the token (`approov secret -setKeyID`):
   * `[{ kid: 'k2', value: '...' }]`; a token's `kid` then picks exactly its secret.
   * Optional when `jwksUri` is set (a backend that accepts keyset tokens only holds no secret).
   */
  secret?: string | Array<string | { kid: string; value: string }>;
  /**
   * The JWKS URL of the Approov account's keyset (`approov keyset -setJWKSURI on`): tokens signed
   * with its asymmetric keys are accepted, the key picked by `kid`. https only (plain http only
   * for a loopback host). Fetched at boot, refreshed in the background; see `keyset`.
   * Default: the APPROOV_JWKS_URI environment variable, when set.
   */
  jwksUri?: string;
  /** The asymmetric algorithms accepted with `jwksUri`: 'ES256', 'RS256', 'PS256', 'EdDSA'. Default ['ES256', 'RS256']. */
  algorithms?: Array<'ES256' | 'RS256' | 'PS256' | 'EdDSA'>;
  /**
   * How the JWKS is fetched and kept (with `jwksUri` only). `requireAtBoot` (default true): refuse
   * to start when the first fetch fails; false starts anyway and answers 503 until keys load.
   * `ttlSec` (600): keys are fresh this long, refreshed in the background at 80% of it.
   * `timeoutMs` (3000): deadline of one fetch. `maxResponseBytes` (65536): response size cap.
   * `cooldownSec` (30): least time between fetches caused by unknown `kid`s or failures.
   * `maxStaleSec` (3600): how long past the TTL the last keys serve while the endpoint fails.
   */
  keyset?: {
    requireAtBoot?: boolean;
    ttlSec?: number;
    timeoutMs?: number;
    maxResponseBytes?: number;
    cooldownSec?: number;
    maxStaleSec?: number;
  };
  /** The request header that carries the token. Default 'Approov-Token'. */
  tokenHeader?: string;
  /** Leeway in seconds for `exp` and `nbf`, 0 to 300. Default 0. */
  clockToleranceSec?: number;
  /** When set, the token's `iss` must equal this value (or one of them). Default: APPROOV_ISSUER when set, else not checked. */
  issuer?: string | string[];
  /** When set, the token's `aud` must contain this value (or one of them). Default: APPROOV_AUDIENCE when set, else not checked. */
  audience?: string | string[];
  /**
   * `Approov-Status` values (such as `'no_network'`) that let a request with no token through on
   * every protected route; `@AllowApproovStatus()` does it per route. The reject is still logged
   * and reported, with the status. Default: none, every request without a token is rejected.
   * Any client can send any status: use it only where serving an unproven client is acceptable.
   */
  allowApproovStatus?: string[];
  /**
   * How many verified tokens to remember, at most, least recently used evicted first; 0 disables
   * the cache. Only tokens that passed every check are kept; `exp` is re-checked on every hit and
   * binding is checked on every request. `cacheMaxBytes` bounds the same cache in bytes; whichever
   * bound is reached first evicts. Default 10,000.
   */
  cacheSize?: number;
  /**
   * Byte budget of the verified-token cache, 1 to 1 GiB. Each entry is counted from the token's
   * length and the size of its claims, on the high side of what V8 really holds (`npm run
   * bench:memory` checks floods of big tokens against it). A token whose entry would count more
   * than 16 KiB (claims full of nested objects, say) is verified on every request but never
   * cached, so no token shape can take more than its share. Default 8 MiB (8,388,608 bytes): for
   * real Approov tokens this budget, rather than `cacheSize`, is usually the bound that evicts;
   * raise it for more entries.
   */
  cacheMaxBytes?: number;
  // Binding
  /** The headers `@ApproovBinding()` with no argument binds to, in order. Default ['Authorization']. */
  bindingHeaders?: string[];
  /**
   * Let a binding route accept a token that carries no `pay` claim, as Approov's failover
   * service issues. Default false: a binding route rejects such a token.
   */
  allowMissingBindingClaim?: boolean;
  // Message signing and replay
  /**
   * Defaults for installation message signing on routes marked `@ApproovMessageSigning()`, which
   * may override any field: `accept`, `match`, `requireInstallationKey`, `maxAgeSec`,
   * `requiredComponents`, `requireContentDigest`, `trustProxy`, `origin`, `clockToleranceSec`,
   * `allowReplays` (each documented on ApproovMessageSigningOptions).
   * A covered Content-Digest is checked against the body as sent, any content type (see maxBodyBytes).
   * `allowReplays: true` here turns replay protection off for every route that does not set it back to false.
   */
  messageSigning?: ApproovMessageSigningOptions;
  /**
   * The account message-signing key, base64 or base64url (an array enables rotation), for
   * `account` signatures (`hmac-sha256`). Checked at boot like `secret` (canonical, 32 bytes or
   * more) and never logged. Default: the APPROOV_MESSAGE_SIGNING_KEY environment variable; when
   * neither is set, routes that require `account` signatures answer 401.
   */
  messageSigningKey?: string | string[];
  /**
   * The largest request body, in bytes, read to check a Content-Digest on a route marked
   * `@ApproovMessageSigning()`; a longer one is answered 413. Default: Fastify's `bodyLimit`
   * on Fastify, 1 MiB on Express. From 1 to 1 GiB.
   */
  maxBodyBytes?: number;
  /**
   * The seconds a body checked against its Content-Digest has to arrive in full, from its
   * headers; a slower one is dropped (freeing its share of the body budget) and answered 408.
   * Default 30, from 1 to 600.
   */
  bodyTimeoutSec?: number;
  /**
   * Replay protection of signed requests: `store` (default in memory, this process only; a
   * RedisReplayStore to share it between instances), `maxEntries`, `timeoutMs`, `failOpen`
   * (each documented on ApproovReplayOptions). Whether a route is protected is `messageSigning.allowReplays` (false: protected).
   */
  replay?: ApproovReplayOptions;
  // Reporting
  /**
   * 'enforce' (default) answers every reject with 401. 'monitor' logs and reports rejects
   * through onFailure but serves the request: for a gradual rollout only.
   */
  mode?: 'enforce' | 'monitor';
  /** Called once per reject with the reason code, for metrics. It never receives token or header values. */
  onFailure?: (failure: ApproovFailure) => void;
  /**
   * Called once per check with its outcome (`pass`, `reject`, `unavailable`), failure code,
   * context, the message-signing labels verified and the duration in seconds, for metrics and
   * traces (`nestjs-approov/opentelemetry` builds one). It never receives token or header values;
   * a hook that throws is logged by name and changes nothing.
   */
  onCheck?: (report: ApproovCheckReport) => void;
  /**
   * How rejects are logged. `lines: 'summary'` (default): the first 5 rejects of each failure code
   * in an interval are logged at once, with method, path and trace id; further rejects of that code
   * are counted, and one line per code per `intervalSec` (default 10, 1 to 3600) says how many
   * there were, so a flood of forged tokens cannot flood the log pipeline. A code quiet for a whole
   * interval is logged at once again. `lines: 'every'`: one line per reject, for low-traffic apps
   * that want each. `onFailure` is called for every reject either way.
   */
  rejectLog?: RejectLogOptions;
}

/** Definition-time flags of forRoot / forRootAsync (not part of the injected options). */
export interface ApproovModuleExtras {
  /** Register ApproovGuard as a global guard; opt routes out with @SkipApproov(). Default false. */
  protectAllRoutes?: boolean;
  /** Make the module global so ApproovGuard works in every module. Default true. */
  isGlobal?: boolean;
}
