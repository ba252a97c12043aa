// `npm run bench`: the HTTP variants and their floors on Express and Fastify (variants.ts), then the
// core micro-benchmark and the memory check, all in one run, judged by the targets (targets.ts).
// Prints the tables; writes the bench:http, bench:micro and bench:memory blocks of bench/README.md,
// the chart beside it, and the user summary of docs/performance.md. bench/README.md says how.
//
// Environment (for short development runs): BENCH_ROUNDS (5), BENCH_DURATION_SEC (2),
// BENCH_WARMUP_SEC (0.5), BENCH_CONNECTIONS (10), BENCH_ONLY (comma-separated variant ids),
// BENCH_HTTP_BUDGET_SEC (540), BENCH_DEADLINE_SEC (840), BENCH_SKIP_CORE=1 (HTTP only); the core
// runs read BENCH_MICRO_TIME_MS, BENCH_MICRO_ROUNDS and BENCH_MEMORY_TOKENS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApproovSecret } from 'nestjs-approov/testing';
import {
  ROOT,
  loadAverage,
  machineDescription,
  markdownTable,
  median,
  textTable,
  writeGeneratedBlock,
} from './common.js';
import { requestRateChart } from './chart.js';
import { memoryBlock, type MemoryResult } from './memory-core.js';
import { microBlock, type MicroResult } from './micro-core.js';
import {
  LOAD_CPU,
  SERVER_CPU,
  lastJsonLine,
  runChild,
  startServer,
  stopServer,
  taskset,
  type RunningServer,
} from './processes.js';
import { cpuTable, httpTable, summaryBlock } from './report.js';
import { runRounds, serverKey } from './rounds.js';
import { TARGET_HEAD, httpTargets, memoryTargets, microTargets, targetCells } from './targets.js';
import {
  MISS_CACHE_SIZE,
  PLATFORMS,
  ROTATION,
  SIGNED_REQUESTS,
  VARIANTS,
  prepareTokens,
} from './variants.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC ?? 2);
const WARMUP_SEC = Number(process.env.BENCH_WARMUP_SEC ?? 0.5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const HTTP_BUDGET_SEC = Number(process.env.BENCH_HTTP_BUDGET_SEC ?? 540);
const DEADLINE_SEC = Number(process.env.BENCH_DEADLINE_SEC ?? 840);
const CHART_FILE = 'performance-http.svg';

/** The micro-benchmark and the memory check, each in its own process on the server's core. */
async function runCore(): Promise<{ micro: MicroResult[]; memory: MemoryResult }> {
  const micro = lastJsonLine<MicroResult[]>(await runChild(SERVER_CPU, 'micro.js', ['--json']));
  const memory = lastJsonLine<MemoryResult>(
    await runChild(SERVER_CPU, 'memory.js', ['--json'], {
      ...process.env,
      NODE_OPTIONS: '--expose-gc',
    }),
  );
  return { micro, memory };
}

async function main(): Promise<void> {
  const servers = new Map<string, RunningServer>();
  // The whole run is bounded: past the deadline, stop every child and fail rather than run on.
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: over ${DEADLINE_SEC} s, stopping\n`);
    for (const server of servers.values()) server.child.kill('SIGKILL');
    process.exit(2);
  }, DEADLINE_SEC * 1000);
  watchdog.unref();
  const only = process.env.BENCH_ONLY?.split(',');
  const variants = only === undefined ? VARIANTS : VARIANTS.filter((v) => only.includes(v.id));
  const secret = createApproovSecret();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-approov-bench-'));
  const loadBefore = loadAverage();
  const startedAt = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const pinning =
    taskset === null
      ? 'taskset not found: server and load generator not pinned.'
      : `Server pinned to CPU ${SERVER_CPU}, load generator to CPU ${LOAD_CPU} (taskset).`;
  try {
    const tokens = prepareTokens(secret, dir);
    process.stderr.write(
      `${machineDescription()}; ${pinning}\n${ROUNDS} rounds x ${PLATFORMS.length * variants.length} runs, ` +
        `${WARMUP_SEC}s warm-up + ${DURATION_SEC}s each, ${CONNECTIONS} connections; load average ${loadBefore}\n`,
    );
    // Every server starts once (pinned, idle until its turn) and serves all its rounds.
    await Promise.all(
      PLATFORMS.flatMap((platform) =>
        variants.map(async (variant) =>
          servers.set(serverKey(platform, variant), await startServer(platform, variant, secret)),
        ),
      ),
    );
    const shape = { connections: CONNECTIONS, warmupSec: WARMUP_SEC, durationSec: DURATION_SEC };
    const { rows, roundsDone, ecdsaLoopUs } = await runRounds(variants, servers, tokens, {
      rounds: ROUNDS,
      shape,
      budgetSec: HTTP_BUDGET_SEC,
      startedAt,
    });
    await Promise.all([...servers.values()].map((server) => stopServer(server.child)));
    servers.clear();
    const loadAfterHttp = loadAverage();
    const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
    const core = process.env.BENCH_SKIP_CORE === '1' ? undefined : await runCore();

    const table = httpTable(rows);
    const cpu = cpuTable(rows);
    const goals = [
      ...httpTargets(rows),
      ...(core === undefined ? [] : [...microTargets(core.micro), ...memoryTargets(core.memory)]),
    ];
    const goalCells = targetCells(goals);
    const ecdsaUs = ecdsaLoopUs.length === 0 ? undefined : median(ecdsaLoopUs);
    const setup =
      `${machineDescription()}. ${pinning} ` +
      `${roundsDone} interleaved rounds${roundsDone < ROUNDS ? ` (of ${ROUNDS}: the time budget ran out)` : ''}; one server process per variant, started once; each run: a new load process (closed loop, prebuilt requests), ${WARMUP_SEC} s warm-up, ${DURATION_SEC} s measured, ${CONNECTIONS} keep-alive connections to 127.0.0.1, GET /bench answering \`{"message":"Hello, World!"}\`. ` +
      `Medians of the rounds. Nest logger off unless the variant says so. The cache-miss server runs with \`cacheSize: ${MISS_CACHE_SIZE}\` and ${ROTATION.toLocaleString('en')} distinct tokens, each connection cycling through its own share, so every request misses, verifies afresh and evicts. ` +
      `Signed requests: ${SIGNED_REQUESTS.toLocaleString('en')} distinct signatures per run, made by the load process before its warm-up. ` +
      (ecdsaUs === undefined
        ? ''
        : `ECDSA P-256 verify in a loop (\`crypto.verify\`, CPU time, on the server's CPU, median of one measure per round): ${ecdsaUs.toFixed(1)} us. `) +
      `Load average ${loadBefore} at the start, ${loadAfterHttp} after the HTTP runs (${minutes} min). ${date}.`;
    process.stdout.write(
      `\n${setup}\n\n${textTable(table.head, table.cells)}\n\n${textTable(cpu.head, cpu.cells)}\n`,
    );
    const chartPath = join(ROOT, 'bench', CHART_FILE);
    const caption = `npm run bench, ${date}: ${machineDescription()}; load average ${loadBefore} at the start`;
    writeFileSync(chartPath, requestRateChart(rows, caption));
    process.stdout.write(`\nchart: ${chartPath}\n`);
    writeGeneratedBlock(
      'bench:http',
      `### HTTP: guards on Express and Fastify\n\n${setup}\n\n![req/s per variant, Express and Fastify side by side](${CHART_FILE})\n\n${markdownTable(table.head, table.cells)}\n\n` +
        `Server CPU time (user + system, from /proc) per request during the measured runs, medians; the difference to the no-op guard is what the protection itself costs:\n\n` +
        `${markdownTable(cpu.head, cpu.cells)}\n\n` +
        `#### Targets\n\n${markdownTable(TARGET_HEAD, goalCells)}`,
    );
    writeGeneratedBlock(
      'performance:summary',
      summaryBlock(rows, `${date}, ${machineDescription()}`),
    );
    if (core !== undefined) {
      const micro = microBlock(core.micro);
      const memory = memoryBlock(core.memory);
      process.stdout.write(`\n${micro.text}\n\n${memory.text}\n`);
      writeGeneratedBlock('bench:micro', micro.markdown);
      writeGeneratedBlock('bench:memory', memory.markdown);
    }
    // Last, so it is what the terminal shows: every target, met or not.
    process.stdout.write(
      `\n${textTable(TARGET_HEAD, goalCells)}\n\n${goals.filter((t) => t.met).length} of ${goals.length} targets met; total ${((Date.now() - startedAt) / 60_000).toFixed(1)} min.\n`,
    );
    clearTimeout(watchdog);
  } finally {
    await Promise.all([...servers.values()].map((server) => stopServer(server.child)));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
