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
import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as signBytes,
  verify as verifySignature,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createApproovInstallationKey,
  createApproovSecret,
  createApproovToken,
} from 'nestjs-approov/testing';
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

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC ?? 2);
const WARMUP_SEC = Number(process.env.BENCH_WARMUP_SEC ?? 0.5);
const HTTP_BUDGET_SEC = Number(process.env.BENCH_HTTP_BUDGET_SEC ?? 540);
const DEADLINE_SEC = Number(process.env.BENCH_DEADLINE_SEC ?? 840);
/** Distinct signed requests per run (signed by the load process before its warm-up): more than a run sends, as a repeat is a replay. */
const SIGNED_REQUESTS = 30_000;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROTATION = 10_000;
/** The rotation server's cache: smaller than the rotation, so every request misses (and evicts). */
const MISS_CACHE_SIZE = 1_000;
const PLATFORMS = ['express', 'fastify'] as const;
type Platform = (typeof PLATFORMS)[number];

type TokenPlan = 'none' | 'repeated' | 'rotating' | 'bound' | 'forged' | 'signed';

interface Variant {
  id: string;
  label: string;
  server: ServerKind;
  tokens: TokenPlan;
  expectStatus: number;
  cacheSize?: number;
  /** Nest's default logger on (reject lines to stdout, drained by this process), as apps run in production. */
  logger?: boolean;
  rejectLog?: 'every';
}

const VARIANTS: Variant[] = [
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
    label: `ApproovGuard, ${ROTATION.toLocaleString('en')} distinct tokens (all cache misses)`,
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
  // Floors: the unavoidable work of each check alone, in the same kind of server.
  {
    id: 'hmac-floor',
    label: `floor: a guard doing only HMAC-SHA256 + JSON.parse, ${ROTATION.toLocaleString('en')} distinct tokens`,
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
    id: 'ecdsa-floor',
    label: 'floor: a guard doing only one ECDSA P-256 crypto.verify',
    server: 'ecdsa-floor',
    tokens: 'repeated',
    expectStatus: 200,
  },
];

interface Sample {
  requestsPerSec: number;
  p99Ms: number;
  /** Server CPU time (user + system) per request during the measured run, in microseconds. */
  cpuUsPerRequest: number;
  /** The load generator's CPU time per request: near 1e6 / req/s means the client set the rate. */
  clientCpuUsPerRequest: number;
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
      if (onLine !== undefined)
        for (const line of text.split('\n')) if (line.length > 0) onLine(line);
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}`)),
    );
  });
}

/** Starts a server and resolves with its port once it prints it. */
function startServer(
  platform: Platform,
  variant: Variant,
  secret: string,
): Promise<{ child: ChildProcess; port: number }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APPROOV_BASE64_SECRET: secret,
    NODE_ENV: 'production',
  };
  if (variant.cacheSize !== undefined) env.BENCH_CACHE_SIZE = String(variant.cacheSize);
  else delete env.BENCH_CACHE_SIZE;
  if (variant.logger === true) env.BENCH_LOGGER = '1';
  else delete env.BENCH_LOGGER;
  if (variant.rejectLog !== undefined) env.BENCH_REJECT_LOG = variant.rejectLog;
  else delete env.BENCH_REJECT_LOG;
  const { command, args } = pinned(SERVER_CPU, 'server.js', [platform, variant.server]);
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return serverPort(child).then(
    (port) => ({ child, port }),
    (error: Error) =>
      Promise.reject(new Error(`server ${platform}/${variant.id}: ${error.message}`)),
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
  /** A token carrying the installation public key, and that key's private half (PEM). */
  signing: { token: string; privateKey: string };
}

function prepareTokens(secret: string, dir: string): TokenFiles {
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
    case 'signed':
      spec.signing = { ...tokens.signing, count: SIGNED_REQUESTS };
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
async function measure(
  server: RunningServer,
  variant: Variant,
  tokens: TokenFiles,
): Promise<Sample> {
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
  return {
    requestsPerSec: result.requestsPerSec,
    p99Ms: result.p99Ms,
    cpuUsPerRequest,
    clientCpuUsPerRequest: result.clientCpuUsPerRequest,
  };
}

interface HttpRow {
  variant: Variant;
  medians: Record<Platform, Sample>;
}

const fmtInt = (value: number): string => Math.round(value).toLocaleString('en');
const fmtRatio = (value: number): string => `${value.toFixed(2)}x`;
const fmtPercent = (value: number): string => `${Math.round(value * 100)}%`;
/** A ratio as judged against a goal: one decimal, so a figure just under the goal never reads as the goal. */
const fmtPercentPrecise = (value: number): string => `${(value * 100).toFixed(1)}%`;

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
      line.push(
        cpu.toFixed(1),
        base === undefined ? '-' : `${cpu - base >= 0 ? '+' : ''}${(cpu - base).toFixed(1)}`,
      );
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
  /** The same measure for the floor variant: the best the check's unavoidable work allows here. */
  floor?: string;
}

/** CPU microseconds of one ECDSA P-256 verify of a signature-base-sized input: the floor of a signed request. */
function ecdsaFloorUs(): number {
  const privateKey = createPrivateKey(createApproovInstallationKey().privateKey);
  const publicKey = createPublicKey(privateKey);
  const base = `"@method": GET\n"@target-uri": http://127.0.0.1:8080/bench\n"approov-token": ${randomBytes(300).toString('base64url')}\n"@signature-params": ("@method" "@target-uri" "approov-token");created=1700000000;alg="ecdsa-p256-sha256"`;
  const data = Buffer.from(base);
  const signature = signBytes('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const batch = 300;
  const samples: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < batch; i++) {
      if (
        !verifySignature('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
      )
        throw new Error('floor verify failed');
    }
    const used = process.cpuUsage(start);
    if (round > 0) samples.push((used.user + used.system) / batch); // the first batch warms up
  }
  return median(samples);
}

function targets(
  rows: readonly HttpRow[],
  ecdsaUs: number | undefined,
  micro?: readonly MicroResult[],
  memory?: MemoryResult,
): Target[] {
  const sample = (id: string, platform: Platform): Sample | undefined =>
    rows.find((row) => row.variant.id === id)?.medians[platform];
  const list: Target[] = [];
  const ratioTarget = (
    name: string,
    id: string,
    base: string,
    goals: Partial<Record<Platform, number>>,
    floorId?: string,
    asMultiple = false,
  ) => {
    for (const platform of PLATFORMS) {
      const value = sample(id, platform)?.requestsPerSec;
      const reference = sample(base, platform)?.requestsPerSec;
      const floor = floorId === undefined ? undefined : sample(floorId, platform)?.requestsPerSec;
      const goal = goals[platform];
      if (value === undefined || reference === undefined || goal === undefined) continue;
      const ratio = value / reference;
      list.push({
        name: `${name} (${platform})`,
        goal: asMultiple ? `>= ${goal}x` : `>= ${fmtPercent(goal)} of no-op`,
        measured: asMultiple ? fmtRatio(ratio) : fmtPercentPrecise(ratio),
        met: ratio >= goal,
        floor: floor === undefined ? '-' : fmtPercentPrecise(floor / reference),
      });
    }
  };
  ratioTarget(
    'fresh token, every request a cache miss',
    'rotating',
    'noop',
    { fastify: 0.8, express: 0.9 },
    'hmac-floor',
  );
  ratioTarget(
    'forged-token flood, logger on',
    'forged-logged',
    'noop',
    { fastify: 0.8, express: 0.9 },
    'hmac-floor-forged',
  );
  ratioTarget(
    "AuthGuard('approov'), repeated token",
    'passport',
    'noop',
    { express: 0.9 },
    'passport-floor',
  );
  ratioTarget('ApproovGuard, repeated token', 'repeated', 'noop', { fastify: 0.85, express: 0.9 });
  ratioTarget(
    "AuthGuard('approov') vs quickstart peer",
    'passport',
    'quickstart',
    { fastify: 2, express: 2 },
    undefined,
    true,
  );
  for (const platform of PLATFORMS) {
    const signed = sample('signed', platform)?.cpuUsPerRequest;
    const tokenOnly = sample('repeated', platform)?.cpuUsPerRequest;
    if (signed === undefined || tokenOnly === undefined) continue;
    const extra = signed - tokenOnly;
    // The floor as a server pays it: one crypto.verify per request in the same kind of server.
    const serverFloor =
      (sample('ecdsa-floor', platform)?.cpuUsPerRequest ?? Number.NaN) -
      (sample('noop', platform)?.cpuUsPerRequest ?? Number.NaN);
    const measured = (floor: number) =>
      `+${extra.toFixed(1)} us (${(extra / floor).toFixed(2)}x the ${floor.toFixed(1)} us floor)`;
    if (ecdsaUs !== undefined) {
      list.push({
        name: `signed GET, server CPU on top of the token-only route, vs crypto.verify in a loop (${platform})`,
        goal: `<= ECDSA verify floor x 1.3 (${(ecdsaUs * 1.3).toFixed(1)} us)`,
        measured: measured(ecdsaUs),
        met: extra <= ecdsaUs * 1.3,
        floor: Number.isFinite(serverFloor)
          ? `${(serverFloor / ecdsaUs).toFixed(2)}x (crypto.verify alone, in the server)`
          : '-',
      });
    }
    if (Number.isFinite(serverFloor)) {
      list.push({
        name: `signed GET, server CPU on top of the token-only route, vs crypto.verify in the server (${platform})`,
        goal: `<= server ECDSA floor x 1.3 (${(serverFloor * 1.3).toFixed(1)} us)`,
        measured: measured(serverFloor),
        met: extra <= serverFloor * 1.3,
        floor: '1.00x',
      });
    }
  }
  if (micro !== undefined) {
    const find = (prefix: string) =>
      micro.find((result) => result.name.startsWith(prefix))?.nsPerOp;
    const floor = find('raw floor');
    const fresh = find('fresh verify');
    const cached = find('cached verify');
    if (floor !== undefined && fresh !== undefined) {
      list.push({
        name: 'fresh verify vs raw floor',
        goal: '<= 1.5x',
        measured: fmtRatio(fresh / floor),
        met: fresh / floor <= 1.5,
        floor: '1.00x',
      });
    }
    if (cached !== undefined) {
      list.push({
        name: 'cached verify',
        goal: '<= 500 ns',
        measured: `${cached.toFixed(0)} ns`,
        met: cached <= 500,
        floor: '-',
      });
    }
  }
  if (memory !== undefined) {
    const growth = memory.peakRssMb - memory.startRssMb;
    const steady = memory.steadyPeakRssMb - memory.steadyRssMb;
    list.push({
      name: `RSS over ${memory.tokens.toLocaleString('en')} distinct tokens, from a cold start`,
      goal: 'within 30 MB',
      measured: `+${growth.toFixed(1)} MB peak over the start (heap after GC ${memory.heapUsedStartMb.toFixed(1)} -> ${memory.heapUsedEndMb.toFixed(1)} MB)`,
      met: growth <= 30,
    });
    list.push({
      name: `RSS over ${memory.tokens.toLocaleString('en')} distinct tokens, after a ${WARMUP.toLocaleString('en')}-token warm-up`,
      goal: 'within 30 MB',
      measured: `+${steady.toFixed(1)} MB`,
      met: steady <= 30,
    });
    // Flat: the last quarter's mean RSS no higher than the second's (after the first quarter, where V8 sizes its heap).
    for (const [phase, means] of [
      ['from a cold start', memory.coldQuarterMeansMb],
      [`after the warm-up`, memory.steadyQuarterMeansMb],
    ] as const) {
      const trend = means[3]! - means[1]!;
      list.push({
        name: `RSS trend over ${memory.tokens.toLocaleString('en')} distinct tokens, ${phase} (last quarter's mean minus the second's)`,
        goal: 'within 10 MB',
        measured: `${trend >= 0 ? '+' : ''}${trend.toFixed(1)} MB`,
        met: trend <= 10,
      });
    }
    const budgetMb = memory.cacheMaxBytes / (1024 * 1024);
    for (const flood of memory.floods) {
      list.push({
        name: `cache byte budget, 10,000 ${flood.label}`,
        goal: `heap retained <= ${budgetMb.toFixed(0)} MB`,
        measured: `${flood.heapGrowthMb.toFixed(1)} MB`,
        met: flood.heapGrowthMb <= budgetMb,
      });
    }
  }
  return list;
}

const PLATFORM_COLOURS: Record<Platform, string> = { express: '#4a6fa5', fastify: '#d9822b' };

/** A grouped horizontal bar chart of req/s per variant, Express and Fastify side by side, as SVG text. */
function requestRateChart(rows: readonly HttpRow[], caption: string): string {
  const escape = (text: string): string =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const labelWidth = 430;
  const plotWidth = 420;
  const barHeight = 11;
  const groupHeight = barHeight * PLATFORMS.length + 10;
  const top = 44;
  const height = top + rows.length * groupHeight + 40;
  const max = Math.max(
    ...rows.flatMap((row) => PLATFORMS.map((platform) => row.medians[platform].requestsPerSec)),
    1,
  );
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 90}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">req/s per variant (median of interleaved rounds; longer is faster)</text>`,
  ];
  PLATFORMS.forEach((platform, i) => {
    const x = labelWidth + i * 110;
    parts.push(
      `<rect x="${x}" y="28" width="10" height="10" fill="${PLATFORM_COLOURS[platform]}"/>`,
    );
    parts.push(
      `<text x="${x + 14}" y="37">${platform === 'express' ? 'Express' : 'Fastify'}</text>`,
    );
  });
  rows.forEach((row, r) => {
    const y = top + r * groupHeight;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + barHeight + 4}" text-anchor="end">${escape(row.variant.label)}</text>`,
    );
    PLATFORMS.forEach((platform, i) => {
      const value = row.medians[platform].requestsPerSec;
      const width = Math.max(1, Math.round((value / max) * plotWidth));
      const barY = y + i * barHeight;
      parts.push(
        `<rect x="${labelWidth}" y="${barY}" width="${width}" height="${barHeight - 1}" fill="${PLATFORM_COLOURS[platform]}"/>`,
      );
      parts.push(
        `<text x="${labelWidth + width + 4}" y="${barY + barHeight - 2}">${fmtInt(value)}</text>`,
      );
    });
  });
  parts.push(`<text x="10" y="${height - 12}" fill="#555">${escape(caption)}</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}

const CHART_FILE = 'performance-http.svg';

async function main(): Promise<void> {
  if (process.argv.includes('--ecdsa-floor')) {
    process.stdout.write(`${ecdsaFloorUs()}\n`);
    return;
  }
  // The whole run is bounded: past the deadline, stop every child and fail rather than run on.
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: over ${DEADLINE_SEC} s, stopping\n`);
    for (const server of servers.values()) server.child.kill('SIGKILL');
    process.exit(2);
  }, DEADLINE_SEC * 1000);
  watchdog.unref();
  const only = process.env.BENCH_ONLY?.split(',');
  const variants =
    only === undefined ? VARIANTS : VARIANTS.filter((variant) => only.includes(variant.id));
  const secret = createApproovSecret();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-approov-bench-'));
  const servers = new Map<string, RunningServer>();
  const loadBefore = loadAverage();
  const started = Date.now();
  try {
    const tokens = prepareTokens(secret, dir);
    const runs = PLATFORMS.flatMap((platform) =>
      variants.map((variant) => ({ platform, variant })),
    );
    const samples = new Map<string, Sample[]>();
    process.stderr.write(
      `${machineDescription()}; ${taskset === null ? 'no taskset: processes not pinned' : `server on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU}`}\n` +
        `${ROUNDS} rounds x ${runs.length} runs, ${WARMUP_SEC}s warm-up + ${DURATION_SEC}s each, ${CONNECTIONS} connections; load average ${loadBefore}\n`,
    );
    // Every server starts once (pinned, idle until its turn) and serves all its rounds; together, so no core idles.
    await Promise.all(
      runs.map(async ({ platform, variant }) =>
        servers.set(`${platform}/${variant.id}`, await startServer(platform, variant, secret)),
      ),
    );
    const roundsStarted = Date.now();
    const floors: number[] = [];
    let roundsDone = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const elapsedSec = (Date.now() - started) / 1000;
      const roundSec = (Date.now() - roundsStarted) / 1000 / Math.max(round, 1);
      if (round > 0 && elapsedSec + roundSec > HTTP_BUDGET_SEC) {
        process.stderr.write(
          `stopping after ${round} rounds: another would pass the ${HTTP_BUDGET_SEC} s budget of the HTTP part\n`,
        );
        break;
      }
      // The ECDSA floor of a signed request, on the server's CPU, once per round like every variant.
      floors.push(Number((await runChild(SERVER_CPU, 'run.js', ['--ecdsa-floor'])).trim()));
      // Start each round at a different run so no variant always follows the same neighbour.
      const offset = Math.floor((round * runs.length) / Math.max(ROUNDS, 1));
      for (let i = 0; i < runs.length; i++) {
        const { platform, variant } = runs[(i + offset) % runs.length]!;
        const key = `${platform}/${variant.id}`;
        const sample = await measure(servers.get(key)!, variant, tokens);
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stderr.write(
          `round ${round + 1}/${ROUNDS} ${key.padEnd(20)} ${fmtInt(sample.requestsPerSec).padStart(7)} req/s  p99 ${sample.p99Ms} ms  ` +
            `server CPU ${sample.cpuUsPerRequest.toFixed(1)} us/req  client CPU ${sample.clientCpuUsPerRequest.toFixed(1)} us/req  load ${loadAverage()}\n`,
        );
      }
      roundsDone++;
    }
    const ecdsaUs = floors.length === 0 ? undefined : median(floors);
    const rows: HttpRow[] = variants.map((variant) => {
      const medians = {} as Record<Platform, Sample>;
      for (const platform of PLATFORMS) {
        const list = samples.get(`${platform}/${variant.id}`) ?? [];
        medians[platform] = {
          requestsPerSec: median(list.map((s) => s.requestsPerSec)),
          p99Ms: median(list.map((s) => s.p99Ms)),
          cpuUsPerRequest: median(list.map((s) => s.cpuUsPerRequest)),
          clientCpuUsPerRequest: median(list.map((s) => s.clientCpuUsPerRequest)),
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
      micro = JSON.parse(
        (await runChild(SERVER_CPU, 'micro.js', ['--json'])).trim().split('\n').pop()!,
      ) as MicroResult[];
      memory = JSON.parse(
        (
          await runChild(SERVER_CPU, 'memory.js', ['--json'], {
            ...process.env,
            NODE_OPTIONS: '--expose-gc',
          })
        )
          .trim()
          .split('\n')
          .pop()!,
      ) as MemoryResult;
    }

    const table = httpTable(rows);
    const cpu = cpuTable(rows);
    const goals = targets(rows, ecdsaUs, micro, memory);
    const goalHead = ['Target', 'Goal', 'Measured', 'Result', 'Floor (its unavoidable work alone)'];
    const goalCells = goals.map((t) => [
      t.name,
      t.goal,
      t.measured,
      t.met ? 'met' : 'NOT MET',
      t.floor ?? '-',
    ]);
    const setup =
      `${machineDescription()}. ${taskset === null ? 'taskset not found: server and load generator not pinned.' : `Server pinned to CPU ${SERVER_CPU}, load generator to CPU ${LOAD_CPU} (taskset).`} ` +
      `${roundsDone} interleaved rounds${roundsDone < ROUNDS ? ` (of ${ROUNDS}: the time budget ran out)` : ''}; one server process per variant, started once; each run: a new load process (closed loop, prebuilt requests), ${WARMUP_SEC} s warm-up, ${DURATION_SEC} s measured, ${CONNECTIONS} keep-alive connections to 127.0.0.1, GET /bench answering \`{"message":"Hello, World!"}\`. ` +
      `Medians of the rounds. Nest logger off unless the variant says so. The cache-miss server runs with \`cacheSize: ${MISS_CACHE_SIZE}\` and ${ROTATION.toLocaleString('en')} distinct tokens, each connection cycling through its own share, so every request misses, verifies afresh and evicts. ` +
      `Signed requests: ${SIGNED_REQUESTS.toLocaleString('en')} distinct signatures per run, made by the load process before its warm-up. ` +
      (ecdsaUs === undefined
        ? ''
        : `ECDSA P-256 verify floor (\`crypto.verify\`, CPU time, on the server's CPU, median of one measure per round): ${ecdsaUs.toFixed(1)} us. `) +
      `Load average ${loadBefore} at the start, ${loadAfterHttp} after the HTTP runs (${minutes} min). ${new Date().toISOString().slice(0, 10)}.`;
    process.stdout.write(
      `\n${setup}\n\n${textTable(table.head, table.cells)}\n\n${textTable(cpu.head, cpu.cells)}\n\n${textTable(goalHead, goalCells)}\n`,
    );
    const chartPath = join(ROOT, 'docs', CHART_FILE);
    writeFileSync(
      chartPath,
      requestRateChart(
        rows,
        `npm run bench, ${new Date().toISOString().slice(0, 10)}: ${machineDescription()}; load average ${loadBefore} at the start`,
      ),
    );
    process.stdout.write(`\nchart: ${chartPath}\n`);
    writePerformanceBlock(
      'http',
      `### HTTP: guards on Express and Fastify\n\n${setup}\n\n![req/s per variant, Express and Fastify side by side](${CHART_FILE})\n\n${markdownTable(table.head, table.cells)}\n\n` +
        `Server CPU time (user + system, from /proc) per request during the measured runs, medians; the difference to the no-op guard is what the protection itself costs:\n\n` +
        `${markdownTable(cpu.head, cpu.cells)}\n\n` +
        `#### Targets\n\n${markdownTable(goalHead, goalCells)}`,
    );
    if (micro !== undefined && memory !== undefined) {
      process.stdout.write(`\n${microBlock(micro).text}\n\n${memoryBlock(memory).text}\n`);
      writePerformanceBlock('micro', microBlock(micro).markdown);
      writePerformanceBlock('memory', memoryBlock(memory).markdown);
    }
    // Last, so it is what the terminal shows: every target, met or not.
    process.stdout.write(
      `\n${textTable(goalHead, goalCells)}\n\n${goals.filter((t) => t.met).length} of ${goals.length} targets met; total ${((Date.now() - started) / 60_000).toFixed(1)} min.\n`,
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
