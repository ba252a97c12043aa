// The load generator, in its own process: `node bench/dist/load.js '<LoadSpec JSON>'`.
// Runs the closed-loop client against 127.0.0.1 for a warm-up, then for the measured duration,
// and prints one JSON line with the measured run's figures. Fails when a response has an
// unexpected status.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signApproovRequest } from 'nestjs-approov/testing';
import { buildRequest, runClosedLoop, type ClosedLoopResult } from './http-client.js';

export interface LoadSpec {
  port: number;
  connections: number;
  warmupSec: number;
  durationSec: number;
  /** Sent on every request. */
  headers: Record<string, string>;
  /** A JSON file of distinct token strings, one per request; each connection starts at its own offset. */
  tokensFile?: string;
  /** Sign each request (distinct signatures, made here just before the run) as the SDK's installation message signing does; more than the run sends, since a repeat is a replay. */
  signing?: { privateKey: string; token: string; count: number };
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

function checkStatuses(run: ClosedLoopResult, expectStatus: number): void {
  const unexpected = Object.keys(run.statuses).filter((code) => Number(code) !== expectStatus);
  if (run.errors > 0 || unexpected.length > 0 || run.total === 0) {
    throw new Error(
      `unexpected responses: errors=${run.errors} statuses=${JSON.stringify(run.statuses)}`,
    );
  }
}

function requestsOf(spec: LoadSpec): Buffer[] {
  if (spec.tokensFile !== undefined) {
    const tokens = JSON.parse(readFileSync(spec.tokensFile, 'utf8')) as string[];
    return tokens.map((token) =>
      buildRequest(spec.port, '/bench', { ...spec.headers, 'approov-token': token }),
    );
  }
  if (spec.signing !== undefined) {
    const { token, count } = spec.signing;
    const privateKey = createPrivateKey(spec.signing.privateKey);
    const created = Math.floor(Date.now() / 1000);
    // Each request signs a different target (?n=i), so no two share a signature base: replay
    // protection, on by default, would reject a repeat. No `expires`: valid for the route's maxAgeSec.
    return Array.from({ length: count }, (_, i) => {
      const path = `/bench?n=${i}`;
      const url = `http://127.0.0.1:${spec.port}${path}`;
      const signature = signApproovRequest({
        privateKey,
        method: 'GET',
        url,
        token,
        created,
        expires: null,
      });
      return buildRequest(spec.port, path, {
        ...spec.headers,
        'approov-token': token,
        ...signature,
      });
    });
  }
  return [buildRequest(spec.port, '/bench', spec.headers)];
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const requests = requestsOf(spec);
  // Signed requests are used once each: a fifth for the warm-up, the rest for the measured run.
  const once = spec.signing !== undefined;
  const split = once ? Math.floor(requests.length / 5) : 0;
  const warmup = once ? requests.slice(0, split) : requests;
  const measured = once ? requests.slice(split) : requests;
  checkStatuses(
    await runClosedLoop(spec.port, spec.connections, spec.warmupSec, warmup, once),
    spec.expectStatus,
  );
  process.stdout.write('measuring\n'); // the orchestrator starts reading the server's CPU time here
  const cpuAtStart = process.cpuUsage();
  const result = await runClosedLoop(spec.port, spec.connections, spec.durationSec, measured, once);
  const cpu = process.cpuUsage(cpuAtStart);
  checkStatuses(result, spec.expectStatus);
  const output: LoadResult = {
    requestsPerSec: result.total / result.durationSec,
    p99Ms: result.p99Ms,
    total: result.total,
    clientCpuUsPerRequest: (cpu.user + cpu.system) / result.total,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load failed: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
