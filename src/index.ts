// The public API: what a Nest app imports. Internals (the core verifiers, secret parsing, the
// message-signature parts) are not exported: the bench and the tests reach them by path.
export { ApproovModule } from './approov.module.js';
export { ApproovGuard } from './approov.guard.js';
export { getApproovClaims } from './approov.claims.js';
export { ApproovStrategy } from './approov.strategy.js';
export { ApproovService } from './approov.service.js';
export {
  AllowApproovStatus,
  ApproovBinding,
  ApproovClaims,
  ApproovMessageSigning,
  SkipApproov,
} from './approov.decorators.js';
export { APPROOV_MODULE_OPTIONS } from './approov.constants.js';
export type { ApproovModuleExtras, ApproovModuleOptions } from './approov.options.js';
export type { ApproovRequestLike } from './core/http/request.js';

export type { ApproovKeysetStatus } from './core/keys/keyset.js';
export type { ApproovTokenClaims } from './core/token/claims.js';
export type { ApproovCheckResult } from './core/token/verifier.js';
export type {
  ApproovMessageSigningOptions,
  ApproovSignatureLabel,
} from './core/message-signing/options.js';
export type {
  MessageSignatureResult,
  VerifiedMessageSignature,
} from './core/message-signing/verify.js';
export {
  APPROOV_FAILURE_CODES,
  UNAVAILABLE_FAILURE_CODES,
  type ApproovContextType,
  type ApproovFailure,
  type ApproovFailureCode,
} from './core/failure.js';
export type { ApproovCheckOutcome, ApproovCheckReport } from './core/check/check-report.js';
export { ApproovConfigurationError, ReplayStoreUnavailableError } from './core/errors.js';
export type { ApproovReplayOptions } from './core/replay/replay-options.js';
export type { ReplayStore } from './core/replay/replay-store.js';
export {
  MemoryReplayStore,
  type MemoryReplayStoreOptions,
} from './core/replay/memory-replay-store.js';
export {
  RedisReplayStore,
  type RedisClientLike,
  type RedisReplayStoreOptions,
  type RedisReplayStoreUrlOptions,
} from './core/replay/redis-replay-store.js';
