/** Injection token of the validated module options. */
export const APPROOV_MODULE_OPTIONS = Symbol('approov:module-options');
/** Injection token of the ApproovVerifier built once from the options. */
export const APPROOV_VERIFIER = Symbol('approov:verifier');
/** Metadata keys, namespaced so they never collide with an app's own. */
export const APPROOV_BINDING_METADATA = 'approov:binding';
export const APPROOV_SKIP_METADATA = 'approov:skip';
/** Logger context of every line this module writes. */
export const APPROOV_LOG_CONTEXT = 'Approov';
