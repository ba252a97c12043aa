/** Injection token of the validated module options. */
export const APPROOV_MODULE_OPTIONS = Symbol('approov:module-options');
/** Injection token of the definition-time extras (`protectAllRoutes`, `isGlobal`). */
export const APPROOV_MODULE_EXTRAS = Symbol('approov:module-extras');
/** Metadata keys, namespaced so they never collide with an app's own. */
export const APPROOV_BINDING_METADATA = 'approov:binding';
export const APPROOV_SKIP_METADATA = 'approov:skip';
export const APPROOV_SIGNING_METADATA = 'approov:message-signing';
export const APPROOV_STATUS_METADATA = 'approov:allow-status';
/** Logger context of every line this module writes. */
export const APPROOV_LOG_CONTEXT = 'Approov';
