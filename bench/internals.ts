// The core internals the benchmarks measure, which the public entry ('nestjs-approov') does not
// export, read from the built package (its ESM build, what import users run). The one place to change if dist/ moves.
// Loaded by URL: this file runs from bench/dist/, while its types are read from bench/.
type Binding = typeof import('../dist/esm/core/token/binding.js');
type Verifier = typeof import('../dist/esm/core/token/verifier.js');
type Keyring = typeof import('../dist/esm/core/keys/keyring.js');
type Config = typeof import('../dist/esm/core/approov-config.js');
type Signing = typeof import('../dist/esm/core/message-signing/verify.js');
type Check = typeof import('../dist/esm/core/check/approov-check.js');

const load = <T>(path: string): Promise<T> =>
  import(new URL(`../../dist/esm/core/${path}`, import.meta.url).href) as Promise<T>;

export const { bindingDigest, checkTokenBinding } = await load<Binding>('token/binding.js');
export const { ApproovVerifier } = await load<Verifier>('token/verifier.js');
export type ApproovVerifier = InstanceType<typeof ApproovVerifier>;
export const { TokenKeyring } = await load<Keyring>('keys/keyring.js');
export const { resolveApproovConfig } = await load<Config>('approov-config.js');
export const { MessageSignatureVerifier } = await load<Signing>('message-signing/verify.js');
export type MessageSignatureVerifier = InstanceType<typeof MessageSignatureVerifier>;
export const { ApproovCheck } = await load<Check>('check/approov-check.js');
