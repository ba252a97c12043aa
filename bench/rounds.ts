// The load loop of `npm run bench`: interleaved rounds (every run once per round, each round
// starting at a different run), one new load process per run, bounded by a time budget; then the
// medians of the rounds per variant and platform.
import { loadAverage, median } from './common.js';
import type { LoadResult } from './load.js';
import {
  LOAD_CPU,
  SERVER_CPU,
  cpuSeconds,
  lastJsonLine,
  runChild,
  type RunningServer,
} from './processes.js';
import {
  PLATFORMS,
  loadSpec,
  type LoadShape,
  type Platform,
  type TokenFiles,
  type Variant,
} from './variants.js';

export interface Sample {
  requestsPerSec: number;
  p99Ms: number;
  /** Server CPU time (user + system) per request during the measured run, in microseconds. */
  cpuUsPerRequest: number;
  /** The load generator's CPU time per request: near 1e6 / req/s means the client set the rate. */
  clientCpuUsPerRequest: number;
}

/** A variant's medians over the rounds, per platform. */
export interface HttpRow {
  variant: Variant;
  medians: Record<Platform, Sample>;
}

/** One run: a load process (warm-up, then the measured part) against a server already listening. */
async function measure(
  server: RunningServer,
  variant: Variant,
  tokens: TokenFiles,
  shape: LoadShape,
): Promise<Sample> {
  let cpuAtStart: number | null = null;
  const spec = JSON.stringify(loadSpec(variant, server.port, tokens, shape));
  const out = await runChild(LOAD_CPU, 'load.js', [spec], process.env, (line) => {
    if (line === 'measuring') cpuAtStart = cpuSeconds(server.child.pid);
  });
  const cpuAtEnd = cpuSeconds(server.child.pid);
  const result = lastJsonLine<LoadResult>(out);
  const cpuUsPerRequest =
    cpuAtStart === null || cpuAtEnd === null || result.total === 0
      ? Number.NaN
      : ((cpuAtEnd - cpuAtStart) * 1e6) / result.total;
  return {
    requestsPerSec: result.requestsPerSec,
    p99Ms: result.p99Ms,
    cpuUsPerRequest,
    clientCpuUsPerRequest: result.clientCpuUsPerRequest,
  };
}

export interface RoundsPlan {
  rounds: number;
  shape: LoadShape;
  /** Seconds from the start of the bench past which no new round starts. */
  budgetSec: number;
  startedAt: number;
}

export interface RoundsResult {
  rows: HttpRow[];
  roundsDone: number;
  /** The ECDSA P-256 verify floor in a loop on the server's core, one measure per round, in us. */
  ecdsaLoopUs: number[];
}

export const serverKey = (platform: Platform, variant: Variant): string =>
  `${platform}/${variant.id}`;

export async function runRounds(
  variants: readonly Variant[],
  servers: ReadonlyMap<string, RunningServer>,
  tokens: TokenFiles,
  plan: RoundsPlan,
): Promise<RoundsResult> {
  const runs = PLATFORMS.flatMap((platform) => variants.map((variant) => ({ platform, variant })));
  const samples = new Map<string, Sample[]>();
  const ecdsaLoopUs: number[] = [];
  const roundsStarted = Date.now();
  let roundsDone = 0;
  for (let round = 0; round < plan.rounds; round++) {
    const elapsedSec = (Date.now() - plan.startedAt) / 1000;
    const roundSec = (Date.now() - roundsStarted) / 1000 / Math.max(round, 1);
    if (round > 0 && elapsedSec + roundSec > plan.budgetSec) {
      process.stderr.write(
        `stopping after ${round} rounds: another would pass the ${plan.budgetSec} s budget of the HTTP part\n`,
      );
      break;
    }
    ecdsaLoopUs.push(Number((await runChild(SERVER_CPU, 'ecdsa-floor.js', [])).trim()));
    // Start each round at a different run so no variant always follows the same neighbour.
    const offset = Math.floor((round * runs.length) / Math.max(plan.rounds, 1));
    for (let i = 0; i < runs.length; i++) {
      const { platform, variant } = runs[(i + offset) % runs.length]!;
      const key = serverKey(platform, variant);
      const sample = await measure(servers.get(key)!, variant, tokens, plan.shape);
      samples.set(key, [...(samples.get(key) ?? []), sample]);
      process.stderr.write(
        `round ${round + 1}/${plan.rounds} ${key.padEnd(20)} ${Math.round(sample.requestsPerSec).toLocaleString('en').padStart(7)} req/s  p99 ${sample.p99Ms} ms  ` +
          `server CPU ${sample.cpuUsPerRequest.toFixed(1)} us/req  client CPU ${sample.clientCpuUsPerRequest.toFixed(1)} us/req  load ${loadAverage()}\n`,
      );
    }
    roundsDone++;
  }
  const rows = variants.map((variant) => {
    const medians = {} as Record<Platform, Sample>;
    for (const platform of PLATFORMS) {
      const list = samples.get(serverKey(platform, variant)) ?? [];
      medians[platform] = {
        requestsPerSec: median(list.map((s) => s.requestsPerSec)),
        p99Ms: median(list.map((s) => s.p99Ms)),
        cpuUsPerRequest: median(list.map((s) => s.cpuUsPerRequest)),
        clientCpuUsPerRequest: median(list.map((s) => s.clientCpuUsPerRequest)),
      };
    }
    return { variant, medians };
  });
  return { rows, roundsDone, ecdsaLoopUs };
}
