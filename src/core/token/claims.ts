/** The claims of a verified Approov token. Only `exp` is guaranteed; the rest depend on the account's policy. */
export interface ApproovTokenClaims {
  /** Expiry, seconds since the epoch (may be fractional). Always present and checked. */
  exp: number;
  /** Not before, seconds since the epoch; checked when present. */
  nbf?: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  /** Issuer; checked only when the `issuer` option is set. */
  iss?: string;
  /** Audience; checked only when the `audience` option is set. */
  aud?: string | string[];
  sub?: string;
  /** The client IP address as seen by the Approov cloud. */
  ip?: string;
  /** The device id. */
  did?: string;
  /** Token binding: base64 SHA-256 of the bound header value(s). */
  pay?: string;
  /** Attestation response code (annotation), when the account enables it. */
  arc?: string;
  /** Installation public key (base64 DER SPKI), for message signing. */
  ipk?: string;
  [claim: string]: unknown;
}
