import { readFileSync } from 'node:fs';

/** test/fixtures/approov-message-signing.json: the shared message-signing vectors (copied, with their source). */
export interface SignedRequestVector {
  method: string;
  target_uri: string | null;
  body?: string;
  content_digest?: string;
  signature_input: string;
  signature: string;
  signature_android_string_form?: string;
  signature_base?: string;
  expect: 'valid';
}
export interface MessageSigningFixture {
  source: string;
  token_secret_base64: string;
  test_private_key_pkcs8_or_sec1_der_base64: string;
  ipk_spki_der_base64: string;
  ipk_token: string;
  requests: [SignedRequestVector, SignedRequestVector];
}

export const messageSigningFixture = JSON.parse(
  readFileSync(new URL('../fixtures/approov-message-signing.json', import.meta.url), 'utf8'),
) as MessageSigningFixture;

/** The vectors' `created`: long past, so checks that depend on it run on a frozen clock. */
export const VECTOR_CREATED = 1744292750;

/** Rewrites an sf-binary `install=:<b64>:` Signature value into Android's sf-string form `install="<b64>"`. */
export function toStringForm(signature: string): string {
  const match = /^install=:([A-Za-z0-9+/=]+):$/.exec(signature);
  if (match === null) throw new Error(`not an sf-binary install signature: ${signature}`);
  return `install="${match[1]}"`;
}
