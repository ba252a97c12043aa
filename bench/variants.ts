// The HTTP variants of `npm run bench` (and `npm run bench:profile`): which bench server each runs,
// with which settings, and what its load process sends. Floors are variants too: guards doing only
// the work no implementation of that check can skip, in the same kind of server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApproovInstallationKey, createApproovToken } from 'nestjs-approov/testing';
import { BOUND_AUTHORIZATION, benchToken, withForgedSignature } from './common.js';
import type { LoadSpec } from './load.js';
import type { ServerKind } from './server.js';

export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Distinct tokens in the rotating and forged runs. */
export const ROTATION = 10_000;
/** The rotation server's cache: smaller than the rotation, so every request misses (and evicts). */
export const MISS_CACHE_SIZE = 1_000;
/** Distinct signed requests per run (signed by the load process before its warm-up): more than a run sends, as a repeat is a replay. */
export const SIGNED_REQUESTS = 30_000;

type TokenPlan = 'repeated' | 'rotating' | 'bound' | 'forged' | 'signed';

export interface Variant {
  id: string;
  label: string;
  server: ServerKind;
  tokens: TokenPlan;
  expectStatus: number;
  cacheSize?: number;
  /** Nest's default logger on (reject lines to stdout, drained by the bench), as apps run in production. */
  logger?: boolean;
  rejectLog?: 'every';
}

const distinct = ROTATION.toLocaleString('en');

export const VARIANTS: readonly Variant[] = [
  { id: 'none', label: 'no guard', server: 'none', tokens: 'repeated', expectStatus: 200 },
  { id: 'noop', label: 'no-op guard', server: 'noop', tokens: 'repeated', expectStatus: 200 },
  {
    id: 'repeated',
    label: 'ApproovGuard, one repeated token',
    server: 'approov',
    tokens: 'repeated',
    expectStatus: 200,
  },
  {
    id: 'rotating',
    label: `ApproovGuard, ${distinct} distinct tokens (all cache misses)`,
    server: 'approov',
    tokens: 'rotating',
    expectStatus: 200,
    cacheSize: MISS_CACHE_SIZE,
  },
  {
    id: 'bound',
    label: 'ApproovGuard + @ApproovBinding (Authorization)',
    server: 'bound',
    tokens: 'bound',
    expectStatus: 200,
  },
  {
    id: 'passport',
    label: "AuthGuard('approov'), repeated token",
    server: 'passport',
    tokens: 'repeated',
    expectStatus: 200,
  },
  {
    id: 'forged',
    label: 'ApproovGuard, flood of distinct forged tokens (401), logger off',
    server: 'approov',
    tokens: 'forged',
    expectStatus: 401,
  },
  {
    id: 'forged-logged',
    label: 'the same flood, logger on (reject log: summary, the default)',
    server: 'approov',
    tokens: 'forged',
    expectStatus: 401,
    logger: true,
  },
  {
    id: 'forged-every',
    label: "the same flood, logger on, rejectLog mode 'every' (a line per reject)",
    server: 'approov',
    tokens: 'forged',
    expectStatus: 401,
    logger: true,
    rejectLog: 'every',
  },
  {
    id: 'signed',
    label: 'ApproovGuard + @ApproovMessageSigning (install, GET)',
    server: 'signed',
    tokens: 'signed',
    expectStatus: 200,
  },
  {
    id: 'quickstart',
    label: 'quickstart peer (jsonwebtoken, Buffer secret)',
    server: 'quickstart',
    tokens: 'repeated',
    expectStatus: 200,
  },
  {
    id: 'hmac-floor',
    label: `floor: a guard doing only HMAC-SHA256 + JSON.parse, ${distinct} distinct tokens`,
    server: 'hmac-floor',
    tokens: 'rotating',
    expectStatus: 200,
  },
  {
    id: 'hmac-floor-forged',
    label: 'floor: the same guard, flood of forged tokens (a stackless 401), logger on',
    server: 'hmac-floor',
    tokens: 'forged',
    expectStatus: 401,
    logger: true,
  },
  {
    id: 'passport-floor',
    label: 'floor: AuthGuard with a strategy that accepts at once',
    server: 'passport-floor',
    tokens: 'repeated',
    expectStatus: 200,
  },
  {
    // Sent the same signed requests as the signed variant, so the floor pays for their headers too.
    id: 'ecdsa-floor',
    label: 'floor: a guard doing only one ECDSA P-256 crypto.verify, same signed requests',
    server: 'ecdsa-floor',
    tokens: 'signed',
    expectStatus: 200,
  },
];

export function variantById(id: string): Variant | undefined {
  return VARIANTS.find((variant) => variant.id === id);
}

/** The bench server's environment for a variant (cache size, logger, reject log mode). */
export function serverEnv(variant: Variant, secret: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APPROOV_BASE64_SECRET: secret,
    NODE_ENV: 'production',
  };
  delete env.BENCH_CACHE_SIZE;
  delete env.BENCH_LOGGER;
  delete env.BENCH_REJECT_LOG;
  if (variant.cacheSize !== undefined) env.BENCH_CACHE_SIZE = String(variant.cacheSize);
  if (variant.logger === true) env.BENCH_LOGGER = '1';
  if (variant.rejectLog !== undefined) env.BENCH_REJECT_LOG = variant.rejectLog;
  return env;
}

/** What the load processes send, made once per bench run: tokens, token files, the signing key. */
export interface TokenFiles {
  repeated: string;
  bound: string;
  rotatingFile: string;
  forgedFile: string;
  /** A token carrying the installation public key, and that key's private half (PEM). */
  signing: { token: string; privateKey: string };
}

export function prepareTokens(secret: string, dir: string): TokenFiles {
  const rotating = Array.from({ length: ROTATION }, (_, i) => benchToken(secret, i + 1));
  const template = benchToken(secret, 0);
  const forged = Array.from({ length: ROTATION }, () => withForgedSignature(template));
  const rotatingFile = join(dir, 'rotating.json');
  const forgedFile = join(dir, 'forged.json');
  writeFileSync(rotatingFile, JSON.stringify(rotating));
  writeFileSync(forgedFile, JSON.stringify(forged));
  const installation = createApproovInstallationKey();
  const signing = {
    token: createApproovToken({
      secret,
      expiresIn: 3600,
      claims: { ip: '203.0.113.7', ipk: installation.ipk },
    }),
    privateKey: installation.privateKey,
  };
  return {
    repeated: template,
    bound: benchToken(secret, 0, { bind: BOUND_AUTHORIZATION }),
    rotatingFile,
    forgedFile,
    signing,
  };
}

export interface LoadShape {
  connections: number;
  warmupSec: number;
  durationSec: number;
}

/** The load process's instructions for one run of a variant against a server on `port`. */
export function loadSpec(
  variant: Variant,
  port: number,
  tokens: TokenFiles,
  shape: LoadShape,
): LoadSpec {
  const spec: LoadSpec = { port, ...shape, headers: {}, expectStatus: variant.expectStatus };
  switch (variant.tokens) {
    case 'repeated':
      spec.headers['approov-token'] = tokens.repeated;
      break;
    case 'bound':
      spec.headers['approov-token'] = tokens.bound;
      spec.headers.authorization = BOUND_AUTHORIZATION;
      break;
    case 'rotating':
      spec.tokensFile = tokens.rotatingFile;
      break;
    case 'forged':
      spec.tokensFile = tokens.forgedFile;
      break;
    case 'signed':
      spec.signing = { ...tokens.signing, count: SIGNED_REQUESTS };
      break;
  }
  return spec;
}
