// Benchmark of a signed request's message-signature check against the ECDSA verify floor:
// `crypto.verify` of one P-256 signature over the same signature base, measured in the same run.
// Exported for bench/run.ts; bench/signing.ts runs it alone.
import { createHmac, createPublicKey, createSecretKey, verify } from 'node:crypto';
import { MessageSignatureVerifier } from './internals.js';
import {
  combineApproovSignatures,
  createApproovInstallationKey,
  createApproovSecret,
  signApproovRequest,
  type SignApproovRequestOptions,
} from 'nestjs-approov/testing';
import { loadAverage, machineDescription, markdownTable, median, textTable } from './common.js';

export interface SigningResult {
  name: string;
  nsPerOp: number;
  /** Median, across rounds, of the median ratio to the floor batches timed beside it. */
  ratio?: number;
}

const BATCH = 1;
let sink: unknown;

type Source = Parameters<MessageSignatureVerifier['verify']>[0];
type Options = Parameters<MessageSignatureVerifier['verify']>[2];

const NOW = 1_800_000_000;
const HOST = 'api.example.com';

function options(accept: Array<'install' | 'account'>): Options {
  return {
    accept,
    match: 'any',
    requireInstallationKey: true,
    maxAgeSec: 60,
    requiredComponents: ['@method', '@target-uri', 'approov-token'],
    requireContentDigest: false,
    trustProxy: false,
    origin: null,
    clockToleranceSec: 10,
    allowReplays: true,
  };
}

/** A request as the server reads it, signed by `labels` as `sdk` signs by default. */
function signedRequest(
  keys: { privateKey: string; accountKey: string },
  sdk: 'android' | 'ios',
  labels: Array<'install' | 'account'>,
  request: { method: string; body?: string; hostSent?: string },
): Source {
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE4MDAwMDAwNjB9.bench-token-signature-placeholder';
  const headers: Record<string, string> = {
    'approov-traceid': 'bench-trace',
    'approov-status': 'success',
  };
  if (request.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(request.body));
  }
  const common: SignApproovRequestOptions = {
    sdk,
    method: request.method,
    url: `https://${HOST}/v1/orders?page=2`,
    token,
    body: request.body,
    headers,
    created: NOW,
    ...keys,
  };
  const signed = combineApproovSignatures(
    ...labels.map((label) => signApproovRequest({ ...common, label })),
  );
  const rawHeaders = ['Host', request.hostSent ?? HOST, 'Approov-Token', token];
  for (const [name, value] of Object.entries({ ...headers, ...signed }))
    rawHeaders.push(name, value);
  return {
    method: request.method,
    target: '/v1/orders?page=2',
    encrypted: true,
    rawHeaders,
    rawBody: request.body === undefined ? undefined : Buffer.from(request.body),
  };
}

export async function runSigningBench(timeMs = 500, rounds = 5): Promise<SigningResult[]> {
  const installation = createApproovInstallationKey();
  const accountKey = createApproovSecret(32);
  const keys = { privateKey: installation.privateKey, accountKey };
  const claims = { exp: NOW + 60, ipk: installation.ipk };
  const verifier = new MessageSignatureVerifier([
    createSecretKey(Buffer.from(accountKey, 'base64')),
  ]);
  const body = JSON.stringify({
    order: 42,
    items: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${i}`, qty: i + 1 })),
  });

  const cases: Array<[string, Source, Options]> = [
    [
      'iOS GET, install (sf-binary)',
      signedRequest(keys, 'ios', ['install'], { method: 'GET' }),
      options(['install']),
    ],
    [
      'Android GET, install (sf-string, status and trace covered)',
      signedRequest(keys, 'android', ['install'], { method: 'GET' }),
      options(['install']),
    ],
    [
      'Android POST, install, Content-Digest over the body',
      signedRequest(keys, 'android', ['install'], { method: 'POST', body }),
      options(['install']),
    ],
    [
      'Android POST, install + account, both verified',
      signedRequest(keys, 'android', ['install', 'account'], { method: 'POST', body }),
      options(['install', 'account']),
    ],
    [
      'iOS GET, Host sent in upper case (second base tried)',
      signedRequest(keys, 'ios', ['install'], { method: 'GET', hostSent: 'API.Example.com' }),
      options(['install']),
    ],
  ];
  for (const [name, source, opts] of cases) {
    const result = verifier.verify(source, claims, opts, NOW);
    if (!result.ok) throw new Error(`bench request rejected (${name}): ${result.code}`);
  }
  if (
    verifier.verify(cases[3]![1], claims, { ...options(['install', 'account']), match: 'all' }, NOW)
      .ok !== true
  ) {
    throw new Error('bench request lacks a label');
  }

  // The floor: the same base the first case signs, one crypto.verify with a ready KeyObject.
  const floorSigned = signApproovRequest({
    ...keys,
    sdk: 'ios',
    method: 'GET',
    url: `https://${HOST}/v1/orders?page=2`,
    token: 't',
    created: NOW,
  });
  const base = Buffer.from(
    `"@method": GET\n"@target-uri": https://${HOST}/v1/orders?page=2\n"approov-token": t\n"@signature-params": ${floorSigned['Signature-Input'].slice('install='.length)}`,
    'latin1',
  );
  const signature = Buffer.from(/:([^:]+):/.exec(floorSigned.Signature)![1]!, 'base64');
  const publicKey = createPublicKey({
    key: Buffer.from(installation.ipk, 'base64'),
    format: 'der',
    type: 'spki',
  });
  if (!verify('sha256', base, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature))
    throw new Error('floor signature does not verify');
  const hmacKey = createSecretKey(Buffer.from(accountKey, 'base64'));

  const floor = (): unknown =>
    verify('sha256', base, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  const hmac = (): unknown => createHmac('sha256', hmacKey).update(base).digest();
  const tasks: Array<[string, () => unknown]> = [
    ['HMAC-SHA256 over the same base (for reference)', hmac],
    ...cases.map(([name, source, opts]): [string, () => unknown] => [
      name,
      () => verifier.verify(source, claims, opts, NOW),
    ]),
  ];

  // Each task call is timed right after a floor call, so that the load of a shared machine weighs
  // on both alike; a task's ratio is against the floor call beside it.
  const deadline = (ms: number): number => performance.now() + ms;
  const timeBatch = (call: () => unknown): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) sink = call();
    return Number(process.hrtime.bigint() - start) / BATCH;
  };
  for (const [, call] of tasks) for (let i = 0; i < 200; i++) timeBatch(call); // warm-up
  const floorSamples: number[] = [];
  const results: SigningResult[] = [];
  const ratios = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, call] of tasks) {
      const until = deadline(timeMs);
      const pairRatios: number[] = [];
      while (performance.now() < until) {
        const floorNs = timeBatch(floor);
        const taskNs = timeBatch(call);
        floorSamples.push(floorNs);
        pairRatios.push(taskNs / floorNs);
        results.push({ name, nsPerOp: taskNs });
      }
      ratios.set(name, [...(ratios.get(name) ?? []), median(pairRatios)]);
    }
  }
  void sink;
  const floorNs = median(floorSamples);
  return [
    { name: 'floor: crypto.verify, ECDSA P-256', nsPerOp: floorNs, ratio: 1 },
    ...tasks.map(([name]) => ({
      name,
      nsPerOp: median(results.filter((r) => r.name === name).map((r) => r.nsPerOp)),
      ratio: median(ratios.get(name)!),
    })),
  ];
}

/** The table: for the terminal, and for its generated block of bench/README.md. */
export function signingBlock(results: readonly SigningResult[]): {
  text: string;
  markdown: string;
} {
  const head = ['Operation', 'median µs/op', 'x ECDSA floor'];
  const rows = results.map((r) => [
    r.name,
    (r.nsPerOp / 1000).toFixed(1),
    (r.ratio ?? 1).toFixed(2),
  ]);
  const how =
    `${machineDescription()}; load average ${loadAverage()} at the end. Each call of a task is timed right after one call of ` +
    'the floor, so that machine load weighs on both alike; µs/op is the median call, the ratio the median (across rounds) of ' +
    'the median task/floor ratio of adjacent calls. Each row but the floors is one `MessageSignatureVerifier.verify` of a ' +
    'request signed as that SDK signs by default (token already verified, installation key cached). Floor: one `crypto.verify` ' +
    'of a P-256 signature over a signature base of the same shape, with a ready KeyObject, in the same run.';
  return {
    text: textTable(head, rows),
    markdown: `### A signed request's check (\`npm run bench:signing\`)\n\n${how}\n\n${markdownTable(head, rows)}`,
  };
}
