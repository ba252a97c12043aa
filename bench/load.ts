// The load generator, in its own process: `node bench/dist/load.js '<LoadSpec JSON>'`.
// Runs autocannon against 127.0.0.1 for a warm-up, then for the measured duration, and prints
// one JSON line with the measured run's figures. Fails when a response has an unexpected status.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';

export interface LoadSpec {
  port: number;
  connections: number;
  warmupSec: number;
  durationSec: number;
  /** Sent on every request. */
  headers: Record<string, string>;
  /** A JSON file of token strings sent round-robin, one per request, across all connections. */
  tokensFile?: string;
  /** The status every response must have (200, or 401 for the invalid-token flood). */
  expectStatus: number;
}

export interface LoadResult {
  requestsPerSec: number;
  p99Ms: number;
  total: number;
}

// One counter for the warm-up and the measured run, so the measured run does not replay the warm-up's first tokens.
let next = 0;

async function runOnce(spec: LoadSpec, durationSec: number, tokens: string[] | undefined): Promise<autocannon.Result> {
  const request: autocannon.Request = { method: 'GET', path: '/bench' };
  if (tokens !== undefined) {
    // One shared counter: consecutive requests, whichever connection sends them, carry distinct tokens.
    request.setupRequest = (req) => {
      const token = tokens[next++ % tokens.length]!;
      return { ...req, headers: { ...spec.headers, 'approov-token': token } };
    };
  }
  return autocannon({
    url: `http://127.0.0.1:${spec.port}`,
    connections: spec.connections,
    duration: durationSec,
    headers: spec.headers,
    requests: [request],
  });
}

function checkStatuses(result: autocannon.Result, expectStatus: number): void {
  const stats = (result as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats;
  const unexpected = Object.entries(stats).filter(([code]) => Number(code) !== expectStatus);
  if (result.errors > 0 || result.timeouts > 0 || unexpected.length > 0) {
    throw new Error(
      `unexpected responses: errors=${result.errors} timeouts=${result.timeouts} statuses=${JSON.stringify(stats)}`,
    );
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const tokens =
    spec.tokensFile === undefined ? undefined : (JSON.parse(readFileSync(spec.tokensFile, 'utf8')) as string[]);
  checkStatuses(await runOnce(spec, spec.warmupSec, tokens), spec.expectStatus);
  process.stdout.write('measuring\n'); // the orchestrator starts reading the server's CPU time here
  const result = await runOnce(spec, spec.durationSec, tokens);
  checkStatuses(result, spec.expectStatus);
  const output: LoadResult = {
    // Every response over the whole measured time (autocannon's per-second average drops partial seconds).
    requestsPerSec: result.requests.total / result.duration,
    p99Ms: result.latency.p99,
    total: result.requests.total,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load failed: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
