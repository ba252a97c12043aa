// `npm run bench`: HTTP benchmark of the guard variants on Express and Fastify, then the core
// micro-benchmark and the memory check, all in one run. Server and load generator are separate
// processes, pinned to separate cores with taskset when it exists. Each run has a warm-up; rounds
// are interleaved (every variant once per round, starting at a different variant each round);
// the table reports medians. Prints the tables and writes them to docs/performance.md.
//
// Environment (for short development runs): BENCH_ROUNDS (8), BENCH_DURATION_SEC (2),
// BENCH_WARMUP_SEC (1), BENCH_CONNECTIONS (10), BENCH_ONLY (comma-separated variant ids),
// BENCH_SKIP_CORE=1 (HTTP only).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApproovSecret } from 'nestjs-approov/testing';
import {
  BOUND_AUTHORIZATION,
  ROOT,
  benchToken,
  loadAverage,
  machineDescription,
  markdownTable,
  median,
  serverPort,
  tasksetPath,
  textTable,
  withForgedSignature,
  writePerformanceBlock,
} from './common.js';
import type { LoadResult, LoadSpec } from './load.js';
import { WARMUP, memoryBlock, type MemoryResult } from './memory-core.js';
import { microBlock, type MicroResult } from './micro-core.js';
import type { ServerKind } from './server.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC ?? 2);
const WARMUP_SEC = Number(process.env.BENCH_WARMUP_SEC ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROTATION = 10_000;
/** The rotation server's cache: smaller than the rotation, so every request misses (and evicts). */
const MISS_CACHE_SIZE = 1_000;
const PLATFORMS = ['express', 'fastify'] as const;
type Platform = (typeof PLATFORMS)[number];

type TokenPlan = 'none' | 'repeated' | 'rotating' | 'bound' | 'forged';

interface Variant {
  id: string;
  label: string;
  server: ServerKind;
  tokens: TokenPlan;
  expectStatus: number;
  cacheSize?: number;
}

const VARIANTS: Variant[] = [
  { id: 'none', label: 'no guard', server: 'none', tokens: 'repeated', expectStatus: 200 },
  { id: 'noop', label: 'no-op guard', server: 'noop', tokens: 'repeated', expectStatus: 200 },
  { id: 'repeated', label: 'ApproovGuard, one repeated token', server: 'approov', tokens: 'repeated', expectStatus: 200 },
  {
    id: 'rotating',
    label: `ApproovGuard, ${ROTATION.toLocaleString('en')} distinct tokens (all cache misses)`,
    server: 'approov',
    tokens: 'rotating',
    expectStatus: 200,
    cacheSize: MISS_CACHE_SIZE,
  },
  { id: 'bound', label: 'ApproovGuard + @ApproovBinding (Authorization)', server: 'bound', tokens: 'bound', expectStatus: 200 },
  { id: 'passport', label: "AuthGuard('approov'), repeated token", server: 'passport', tokens: 'repeated', expectStatus: 200 },
  { id: 'forged', label: 'ApproovGuard, flood of distinct forged tokens (401)', server: 'approov', tokens: 'forged', expectStatus: 401 },
  { id: 'quickstart', label: 'quickstart peer (jsonwebtoken, Buffer secret)', server: 'quickstart', tokens: 'repeated', expectStatus: 200 },
];

interface Sample {
  requestsPerSec: number;
  p99Ms: number;
  /** Server CPU time (user + system) per request during the measured run, in microseconds. */
  cpuUsPerRequest: number;
}

const taskset = tasksetPath();
const SERVER_CPU = '1';
const LOAD_CPU = '0';

function pinned(cpu: string, script: string, args: string[]): { command: string; args: string[] } {
  const node = [join(ROOT, 'bench/dist', script), ...args];
  return taskset === null
    ? { command: process.execPath, args: node }
    : { command: taskset, args: ['-c', cpu, process.execPath, ...node] };
}

const CLOCK_TICKS_PER_SEC = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; null where there is no /proc. */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
  } catch {
    return null;
  }
}

/** Runs a pinned child to completion and returns its stdout; rejects on a non-zero exit. */
function runChild(
  cpu: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  onLine?: (line: string) => void,
): Promise<string> {
  const { command, args: argv } = pinned(cpu, script, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      if (onLine !== undefined) for (const line of text.split('\n')) if (line.length > 0) onLine(line);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}`))));
  });
}

/** Starts a server and resolves with its port once it prints it. */
function startServer(platform: Platform, variant: Variant, secret: string): Promise<{ child: ChildProcess; port: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, APPROOV_BASE64_SECRET: secret, NODE_ENV: 'production' };
  if (variant.cacheSize !== undefined) env.BENCH_CACHE_SIZE = String(variant.cacheSize);
  else delete env.BENCH_CACHE_SIZE;
  const { command, args } = pinned(SERVER_CPU, 'server.js', [platform, variant.server]);
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return serverPort(child).then(
    (port) => ({ child, port }),
    (error: Error) => Promise.reject(new Error(`server ${platform}/${variant.id}: ${error.message}`)),
  );
}

function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface TokenFiles {
  repeated: string;
  bound: string;
  rotatingFile: string;
  forgedFile: string;
}

function prepareTokens(secret: string, dir: string): TokenFiles {
  const rotating = Array.from({ length: ROTATION }, (_, i) => benchToken(secret, i + 1));
  const template = benchToken(secret, 0);
  const forged = Array.from({ length: ROTATION }, () => withForgedSignature(template));
  const rotatingFile = join(dir, 'rotating.json');
  const forgedFile = join(dir, 'forged.json');
  writeFileSync(rotatingFile, JSON.stringify(rotating));
  writeFileSync(forgedFile, JSON.stringify(forged));
  return { repeated: template, bound: benchToken(secret, 0, { bind: BOUND_AUTHORIZATION }), rotatingFile, forgedFile };
}

function loadSpec(variant: Variant, port: number, tokens: TokenFiles): LoadSpec {
  const spec: LoadSpec = {
    port,
    connections: CONNECTIONS,
    warmupSec: WARMUP_SEC,
    durationSec: DURATION_SEC,
    headers: {},
    expectStatus: variant.expectStatus,
  };
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
    case 'none':
      break;
  }
  return spec;
}

interface RunningServer {
  child: ChildProcess;
  port: number;
}

/** One run: a load process (warm-up, then the measured part) against a server already listening. */
async function measure(server: RunningServer, variant: Variant, tokens: TokenFiles): Promise<Sample> {
  let cpuAtStart: number | null = null;
  const spec = JSON.stringify(loadSpec(variant, server.port, tokens));
  const out = await runChild(LOAD_CPU, 'load.js', [spec], process.env, (line) => {
    if (line === 'measuring') cpuAtStart = cpuSeconds(server.child.pid);
  });
  const cpuAtEnd = cpuSeconds(server.child.pid);
  const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
  const cpuUsPerRequest =
    cpuAtStart === null || cpuAtEnd === null || result.total === 0
      ? Number.NaN
      : ((cpuAtEnd - cpuAtStart) * 1e6) / result.total;
  return { requestsPerSec: result.requestsPerSec, p99Ms: result.p99Ms, cpuUsPerRequest };
}

interface HttpRow {
  variant: Variant;
  medians: Record<Platform, Sample>;
}

const fmtInt = (value: number): string => Math.round(value).toLocaleString('en');
const fmtRatio = (value: number): string => `${value.toFixed(2)}x`;
const fmtPercent = (value: number): string => `${Math.round(value * 100)}%`;

function httpTable(rows: readonly HttpRow[]): { head: string[]; cells: string[][] } {
  const noop = rows.find((row) => row.variant.id === 'noop')?.medians;
  const head = ['Variant'];
  for (const platform of PLATFORMS) {
    const name = platform === 'express' ? 'Express' : 'Fastify';
    head.push(`${name} req/s`, 'vs no-op', `${name} p99 ms`, 'vs no-op');
  }
  const cells = rows.map((row) => {
    const line = [row.variant.label];
    for (const platform of PLATFORMS) {
      const sample = row.medians[platform];
      const base = noop?.[platform];
      line.push(
        fmtInt(sample.requestsPerSec),
        base === undefined ? '-' : fmtPercent(sample.requestsPerSec / base.requestsPerSec),
        sample.p99Ms.toFixed(0),
        base === undefined || base.p99Ms === 0 ? '-' : fmtRatio(sample.p99Ms / base.p99Ms),
      );
    }
    return line;
  });
  return { head, cells };
}

/** Server CPU time per request: steadier than req/s on a shared machine, and it gives each guard's cost in microseconds. */
function cpuTable(rows: readonly HttpRow[]): { head: string[]; cells: string[][] } {
  const noop = rows.find((row) => row.variant.id === 'noop')?.medians;
  const head = ['Variant'];
  for (const platform of PLATFORMS) {
    const name = platform === 'express' ? 'Express' : 'Fastify';
    head.push(`${name} server CPU us/req`, 'minus no-op');
  }
  const cells = rows.map((row) => {
    const line = [row.variant.label];
    for (const platform of PLATFORMS) {
      const cpu = row.medians[platform].cpuUsPerRequest;
      const base = noop?.[platform].cpuUsPerRequest;
      line.push(cpu.toFixed(1), base === undefined ? '-' : `${cpu - base >= 0 ? '+' : ''}${(cpu - base).toFixed(1)}`);
    }
    return line;
  });
  return { head, cells };
}

interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

function targets(rows: readonly HttpRow[], micro?: readonly MicroResult[], memory?: MemoryResult): Target[] {
  const rps = (id: string, platform: Platform): number | undefined =>
    rows.find((row) => row.variant.id === id)?.medians[platform].requestsPerSec;
  const list: Target[] = [];
  const ratioTarget = (name: string, id: string, base: string, goals: Record<Platform, number>, asMultiple = false) => {
    for (const platform of PLATFORMS) {
      const value = rps(id, platform);
      const reference = rps(base, platform);
      if (value === undefined || reference === undefined) continue;
      const ratio = value / reference;
      const goal = goals[platform];
      list.push({
        name: `${name} (${platform})`,
        goal: asMultiple ? `>= ${goal}x` : `>= ${fmtPercent(goal)} of no-op`,
        measured: asMultiple ? fmtRatio(ratio) : fmtPercent(ratio),
        met: ratio >= goal,
      });
    }
  };
  ratioTarget('ApproovGuard, repeated token', 'repeated', 'noop', { fastify: 0.85, express: 0.9 });
  ratioTarget('ApproovGuard, cache misses', 'rotating', 'noop', { fastify: 0.5, express: 0.75 });
  ratioTarget("AuthGuard('approov') vs quickstart peer", 'passport', 'quickstart', { fastify: 2, express: 2 }, true);
  for (const platform of PLATFORMS) {
    const forged = rps('forged', platform);
    const valid = rps('rotating', platform);
    const validRepeated = rps('repeated', platform);
    if (forged === undefined || valid === undefined) continue;
    list.push({
      name: `forged-token flood vs valid cache misses (${platform})`,
      goal: 'no slower',
      measured: `${fmtPercent(forged / valid)} of the cache-miss rate` +
        (validRepeated === undefined ? '' : ` (${fmtPercent(forged / validRepeated)} of the repeated-token rate)`),
      met: forged >= valid,
    });
  }
  if (micro !== undefined) {
    const find = (prefix: string) => micro.find((result) => result.name.startsWith(prefix))?.nsPerOp;
    const floor = find('raw floor');
    const fresh = find('fresh verify');
    const cached = find('cached verify');
    if (floor !== undefined && fresh !== undefined) {
      list.push({ name: 'fresh verify vs raw floor', goal: '<= 1.5x', measured: fmtRatio(fresh / floor), met: fresh / floor <= 1.5 });
    }
    if (cached !== undefined) {
      list.push({ name: 'cached verify', goal: '<= 500 ns', measured: `${cached.toFixed(0)} ns`, met: cached <= 500 });
    }
  }
  if (memory !== undefined) {
    const growth = memory.peakRssMb - memory.startRssMb;
    const steady = memory.steadyPeakRssMb - memory.steadyRssMb;
    list.push({
      name: `RSS over ${memory.tokens.toLocaleString('en')} distinct tokens`,
      goal: 'within 30 MB',
      measured:
        `+${growth.toFixed(1)} MB peak over the start; +${steady.toFixed(1)} MB over the ${memory.tokens.toLocaleString('en')} after a ${WARMUP.toLocaleString('en')}-token warm-up; ` +
        `heap after GC ${memory.heapUsedStartMb.toFixed(1)} -> ${memory.heapUsedEndMb.toFixed(1)} MB`,
      met: growth <= 30,
    });
  }
  return list;
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',');
  const variants = only === undefined ? VARIANTS : VARIANTS.filter((variant) => only.includes(variant.id));
  const secret = createApproovSecret();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-approov-bench-'));
  const servers = new Map<string, RunningServer>();
  const loadBefore = loadAverage();
  const started = Date.now();
  try {
    const tokens = prepareTokens(secret, dir);
    const runs = PLATFORMS.flatMap((platform) => variants.map((variant) => ({ platform, variant })));
    const samples = new Map<string, Sample[]>();
    process.stderr.write(
      `${machineDescription()}; ${taskset === null ? 'no taskset: processes not pinned' : `server on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU}`}\n` +
        `${ROUNDS} rounds x ${runs.length} runs, ${WARMUP_SEC}s warm-up + ${DURATION_SEC}s each, ${CONNECTIONS} connections; load average ${loadBefore}\n`,
    );
    // Every server starts once (pinned, idle until its turn) and serves all its rounds.
    for (const { platform, variant } of runs) {
      servers.set(`${platform}/${variant.id}`, await startServer(platform, variant, secret));
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Start each round at a different run so no variant always follows the same neighbour.
      const offset = Math.floor((round * runs.length) / Math.max(ROUNDS, 1));
      for (let i = 0; i < runs.length; i++) {
        const { platform, variant } = runs[(i + offset) % runs.length]!;
        const key = `${platform}/${variant.id}`;
        const sample = await measure(servers.get(key)!, variant, tokens);
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stderr.write(
          `round ${round + 1}/${ROUNDS} ${key.padEnd(20)} ${fmtInt(sample.requestsPerSec).padStart(7)} req/s  p99 ${sample.p99Ms} ms  ` +
            `server CPU ${sample.cpuUsPerRequest.toFixed(1)} us/req  load ${loadAverage()}\n`,
        );
      }
    }
    const rows: HttpRow[] = variants.map((variant) => {
      const medians = {} as Record<Platform, Sample>;
      for (const platform of PLATFORMS) {
        const list = samples.get(`${platform}/${variant.id}`) ?? [];
        medians[platform] = {
          requestsPerSec: median(list.map((s) => s.requestsPerSec)),
          p99Ms: median(list.map((s) => s.p99Ms)),
          cpuUsPerRequest: median(list.map((s) => s.cpuUsPerRequest)),
        };
      }
      return { variant, medians };
    });
    await Promise.all([...servers.values()].map((server) => stopServer(server.child)));
    servers.clear();
    const loadAfterHttp = loadAverage();
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);

    let micro: MicroResult[] | undefined;
    let memory: MemoryResult | undefined;
    if (process.env.BENCH_SKIP_CORE !== '1') {
      micro = JSON.parse((await runChild(SERVER_CPU, 'micro.js', ['--json'])).trim().split('\n').pop()!) as MicroResult[];
      memory = JSON.parse((await runChild(SERVER_CPU, 'memory.js', ['--json'], { ...process.env, NODE_OPTIONS: '--expose-gc' })).trim().split('\n').pop()!) as MemoryResult;
    }

    const table = httpTable(rows);
    const cpu = cpuTable(rows);
    const goals = targets(rows, micro, memory);
    const goalHead = ['Target', 'Goal', 'Measured', 'Met'];
    const goalCells = goals.map((t) => [t.name, t.goal, t.measured, t.met ? 'yes' : 'NO']);
    const setup =
      `${machineDescription()}. ${taskset === null ? 'taskset not found: server and load generator not pinned.' : `Server pinned to CPU ${SERVER_CPU}, autocannon to CPU ${LOAD_CPU} (taskset).`} ` +
      `${ROUNDS} interleaved rounds; one server process per variant, started once; each run: a new autocannon process, ${WARMUP_SEC} s warm-up, ${DURATION_SEC} s measured, ${CONNECTIONS} connections to 127.0.0.1, GET /bench answering \`{"message":"Hello, World!"}\`. ` +
      `Medians of the rounds. Nest logger off. The cache-miss server runs with \`cacheSize: ${MISS_CACHE_SIZE}\` and the ${ROTATION.toLocaleString('en')} tokens go round-robin across all connections, so every request misses, verifies afresh and evicts. ` +
      `Load average ${loadBefore} at the start, ${loadAfterHttp} after the HTTP runs (${minutes} min). ${new Date().toISOString().slice(0, 10)}.`;
    process.stdout.write(
      `\n${setup}\n\n${textTable(table.head, table.cells)}\n\n${textTable(cpu.head, cpu.cells)}\n\n${textTable(goalHead, goalCells)}\n`,
    );
    writePerformanceBlock(
      'http',
      `### HTTP: guards on Express and Fastify (autocannon)\n\n${setup}\n\n${markdownTable(table.head, table.cells)}\n\n` +
        `Server CPU time (user + system, from /proc) per request during the measured runs, medians; the difference to the no-op guard is what the protection itself costs:\n\n` +
        `${markdownTable(cpu.head, cpu.cells)}\n\n` +
        `#### Targets\n\n${markdownTable(goalHead, goalCells)}`,
    );
    if (micro !== undefined && memory !== undefined) {
      process.stdout.write(`\n${microBlock(micro).text}\n\n${memoryBlock(memory).text}\n`);
      writePerformanceBlock('micro', microBlock(micro).markdown);
      writePerformanceBlock('memory', memoryBlock(memory).markdown);
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => stopServer(server.child)));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
