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
  /** A JSON file of distinct token strings, one per request; each connection cycles through its own share. */
  tokensFile?: string;
  /** The status every response must have (200, or 401 for the invalid-token flood). */
  expectStatus: number;
}

export interface LoadResult {
  requestsPerSec: number;
  p99Ms: number;
  total: number;
  /** This load generator's own CPU time per request: near a full core means it, not the server, set the rate. */
  clientCpuUsPerRequest: number;
}

interface Run {
  requestsTotal: number;
  durationSec: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
}

/**
 * One timed run. With distinct tokens, each connection gets its own autocannon instance cycling
 * through its own slice of prebuilt requests: a per-request `setupRequest` cost the client about
 * 50 us per request, enough to make the load generator, not the server, set the rate. Disjoint
 * slices keep every token away from the cache for as long as the whole list takes to go round.
 */
async function runOnce(spec: LoadSpec, durationSec: number, tokens: string[] | undefined): Promise<Run> {
  const url = `http://127.0.0.1:${spec.port}`;
  const results =
    tokens === undefined
      ? [await autocannon({ url, connections: spec.connections, duration: durationSec, headers: spec.headers, requests: [{ method: 'GET', path: '/bench' }] })]
      : await Promise.all(
          Array.from({ length: spec.connections }, (_, connection) => {
            const slice = tokens.filter((_token, i) => i % spec.connections === connection);
            return autocannon({
              url,
              connections: 1,
              duration: durationSec,
              requests: slice.map((token) => ({ method: 'GET', path: '/bench', headers: { ...spec.headers, 'approov-token': token } })),
            });
          }),
        );
  const statuses: Record<string, number> = {};
  for (const result of results) {
    const stats = (result as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats;
    for (const [code, { count }] of Object.entries(stats)) statuses[code] = (statuses[code] ?? 0) + count;
  }
  return {
    requestsTotal: results.reduce((sum, r) => sum + r.requests.total, 0),
    durationSec: Math.max(...results.map((r) => r.duration)),
    // The slowest connection's p99: a conservative merge of per-connection histograms.
    p99Ms: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    timeouts: results.reduce((sum, r) => sum + r.timeouts, 0),
    statuses,
  };
}

function checkStatuses(run: Run, expectStatus: number): void {
  const unexpected = Object.keys(run.statuses).filter((code) => Number(code) !== expectStatus);
  if (run.errors > 0 || run.timeouts > 0 || unexpected.length > 0) {
    throw new Error(`unexpected responses: errors=${run.errors} timeouts=${run.timeouts} statuses=${JSON.stringify(run.statuses)}`);
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const tokens =
    spec.tokensFile === undefined ? undefined : (JSON.parse(readFileSync(spec.tokensFile, 'utf8')) as string[]);
  checkStatuses(await runOnce(spec, spec.warmupSec, tokens), spec.expectStatus);
  process.stdout.write('measuring\n'); // the orchestrator starts reading the server's CPU time here
  const cpuAtStart = process.cpuUsage();
  const result = await runOnce(spec, spec.durationSec, tokens);
  const cpu = process.cpuUsage(cpuAtStart);
  checkStatuses(result, spec.expectStatus);
  const output: LoadResult = {
    // Every response over the whole measured time (autocannon's per-second average drops partial seconds).
    requestsPerSec: result.requestsTotal / result.durationSec,
    p99Ms: result.p99Ms,
    total: result.requestsTotal,
    clientCpuUsPerRequest: (cpu.user + cpu.system) / result.requestsTotal,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load failed: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
