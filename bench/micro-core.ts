// Micro-benchmark of the core with tinybench (run by micro.ts and run.ts). Each sample times a batch
// of calls on fresh string copies (as each HTTP request brings its own), and reports per call.
// The raw floor, measured in the same run, is the work of the HTTP bench's HMAC floor guard: one
// HMAC-SHA256, the constant-time compare, base64url decoding and JSON.parse of the payload, the
// least any HS256 verifier must do.
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { Bench } from 'tinybench';
import { ApproovVerifier, TokenKeyring, bindingDigest, checkTokenBinding } from './internals.js';
import { createApproovSecret } from 'nestjs-approov/testing';
import {
  BOUND_AUTHORIZATION,
  benchToken,
  loadAverage,
  machineDescription,
  markdownTable,
  textTable,
} from './common.js';

export const BATCH = 200;
const ROTATION = 10_000;

/** The first task, which every ratio of the table is taken against. */
export const RAW_FLOOR = 'raw floor: HMAC-SHA256, compare, base64url decode + JSON.parse';

export interface MicroResult {
  name: string;
  nsPerOp: number;
}

/** A new string with the same characters, so nothing cached on the string object (its hash) is reused. */
const freshCopy = (text: string): string => Buffer.from(text, 'latin1').toString('latin1');

let sink: unknown;

/** A task timing BATCH calls of `call(input)` over fresh inputs made before the clock starts. */
function batched(bench: Bench, makeInput: (i: number) => string, call: (input: string) => unknown) {
  const inputs: string[] = new Array<string>(BATCH);
  return () => {
    for (let i = 0; i < BATCH; i++) inputs[i] = makeInput(i);
    const start = bench.now();
    for (let i = 0; i < BATCH; i++) sink = call(inputs[i]!);
    const elapsed = bench.now() - start;
    return { overriddenDuration: elapsed / BATCH, overriddenIterationCost: elapsed };
  };
}

export async function runMicro(timeMs = 500, rounds = 5): Promise<MicroResult[]> {
  const secret = createApproovSecret();
  const key = createSecretKey(Buffer.from(secret, 'base64'));
  const token = benchToken(secret, 0);
  const boundToken = benchToken(secret, 0, { bind: BOUND_AUTHORIZATION });
  const signingInput = token.slice(0, token.lastIndexOf('.'));
  const payloadSegment = token.split('.')[1]!;
  const payloadJson = Buffer.from(payloadSegment, 'base64url').toString('utf8');
  const rotating = Array.from({ length: ROTATION }, (_, i) => benchToken(secret, i + 1));
  const bench = new Bench({ time: timeMs, warmupTime: 300, warmupIterations: 20, iterations: 50 });
  const keyring = TokenKeyring.ofSecrets([key]);
  const uncached = new ApproovVerifier({ keyring, cacheSize: 0 });
  const cached = new ApproovVerifier({ keyring });
  const thrashing = new ApproovVerifier({ keyring, cacheSize: 1_000 });
  const headers = (value: string) => ({
    rawHeaders: ['Host', '127.0.0.1', 'Approov-Token', value, 'Authorization', BOUND_AUTHORIZATION],
  });
  let next = 0;

  bench
    .add(
      RAW_FLOOR,
      batched(bench, freshCopy.bind(null, token), (input) => {
        const lastDot = input.lastIndexOf('.');
        const mac = createHmac('sha256', key).update(input.slice(0, lastDot)).digest();
        const given = Buffer.from(input.slice(lastDot + 1), 'base64url');
        if (given.length !== mac.length || !timingSafeEqual(mac, given)) throw new Error('floor');
        const payload = input.slice(input.indexOf('.') + 1, lastDot);
        return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      }),
    )
    .add(
      'HMAC-SHA256 + JSON.parse of a payload decoded in advance (for reference)',
      batched(bench, freshCopy.bind(null, signingInput), (input) => {
        createHmac('sha256', key).update(input).digest();
        return JSON.parse(payloadJson);
      }),
    )
    .add(
      'fresh verify (cache disabled)',
      batched(
        bench,
        () => freshCopy(token),
        (input) => uncached.verifyToken(input),
      ),
    )
    .add(
      'cache miss (10,000 tokens through 1,000 entries)',
      batched(
        bench,
        () => freshCopy(rotating[next++ % ROTATION]!),
        (input) => thrashing.verifyToken(input),
      ),
    )
    .add(
      'cached verify',
      batched(
        bench,
        () => freshCopy(token),
        (input) => cached.verifyToken(input),
      ),
    )
    .add(
      'cached verifyRequest (header scan)',
      batched(
        bench,
        () => freshCopy(token),
        (input) => cached.verifyRequest(headers(input)),
      ),
    )
    .add(
      'binding digest (SHA-256 of Authorization)',
      batched(
        bench,
        () => freshCopy(BOUND_AUTHORIZATION),
        (input) => bindingDigest([input]),
      ),
    )
    .add(
      'cached verifyRequest + binding check',
      batched(
        bench,
        () => freshCopy(boundToken),
        (input) => cached.verifyRequest(headers(input), ['authorization']),
      ),
    );

  // Fail loudly rather than time a reject path by mistake.
  for (const verifier of [uncached, cached])
    if (!verifier.verifyToken(token).ok) throw new Error('bench token rejected');
  if (!cached.verifyRequest(headers(boundToken), ['authorization']).ok)
    throw new Error('bound bench token rejected');
  const bound = cached.verifyToken(boundToken);
  if (!bound.ok || checkTokenBinding(bound.claims, [BOUND_AUTHORIZATION]) !== null)
    throw new Error('binding broken');

  // Whole rounds of every task, medians across rounds: one pass alone let the first task (the
  // floor) absorb the process's warm-up and moved the ratios by tens of percent between runs.
  const perTask = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result as { latency?: { p50: number } };
      if (result.latency === undefined)
        throw new Error(`micro-benchmark task failed: ${task.name}`);
      perTask.set(task.name, [...(perTask.get(task.name) ?? []), result.latency.p50 * 1e6]);
    }
  }
  void sink;
  return [...perTask].map(([name, samples]) => ({ name, nsPerOp: median(samples) }));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The micro-benchmark table: for the terminal, and for bench/README.md with how it was measured. */
export function microBlock(results: readonly MicroResult[]): { text: string; markdown: string } {
  const floor = results[0]!.nsPerOp;
  const head = ['Operation', 'median ns/op', 'x raw floor'];
  const rows = results.map((r) => [r.name, r.nsPerOp.toFixed(0), (r.nsPerOp / floor).toFixed(2)]);
  const how =
    `${machineDescription()}; load average ${loadAverage()} at the end. tinybench, whole rounds of every task, the median across rounds; each sample is the mean of a batch of ` +
    `${BATCH} calls on fresh string copies (as each request brings its own), the median sample of a round. ` +
    'Raw floor: what the HTTP floor guard does (one HMAC-SHA256 over the signing input, a constant-time compare, base64url decoding and JSON.parse of the payload), measured in the same run.';
  return {
    text: textTable(head, rows),
    markdown: `### Core micro-benchmark (tinybench)\n\n${how}\n\n${markdownTable(head, rows)}`,
  };
}
