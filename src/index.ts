export { ApproovModule } from './approov.module.js';
export { ApproovGuard } from './approov.guard.js';
export { ApproovStrategy } from './approov.strategy.js';
export { ApproovService } from './approov.service.js';
export type { ApproovRequestLike } from './approov-request.js';
export { ApproovBinding, ApproovClaims, ApproovMessageSigning, SkipApproov } from './approov.decorators.js';
export { APPROOV_MODULE_OPTIONS } from './approov.constants.js';
export type { ApproovModuleExtras, ApproovModuleOptions } from './approov-options.interface.js';

export type { ApproovTokenClaims } from './core/token/claims.js';
export {
  APPROOV_FAILURE_CODES,
  UNAVAILABLE_FAILURE_CODES,
  type ApproovFailure, type ApproovFailureCode,
} from './core/failure.js';
export { ApproovConfigurationError } from './core/errors.js';
export { parseApproovSecrets, resolveSecretSource } from './core/token/secret.js';
export { resolveApproovConfig } from './core/approov-config.js';
export { verifyApproovToken, MAX_TOKEN_LENGTH, type TokenVerificationOptions } from './core/token/verify-token.js';
export { ApproovVerifier, type ApproovCheckResult, type ApproovVerifierConfig } from './core/token/verifier.js';
export { bindingDigest, checkTokenBinding } from './core/token/binding.js';
export type { ApproovMessageSigningOptions } from './core/message-signing/options.js';
export {
  MessageSignatureVerifier,
  parseMessageSignature,
  buildSignatureBase,
  contentDigestMatches,
  createContentDigest,
  type MessageSignatureResult,
} from './core/message-signing/verify.js';
