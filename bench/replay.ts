// `npm run bench:replay`: what the replay check costs per signed request, in memory and on Redis
// (loopback), as a ratio against the same signed route with the check off, in one run; and what
// the in-memory store and Redis hold per remembered request. Prints the tables and writes them
// into its generated block of bench/README.md. Needs the Redis at REDIS_URL.
import { Redis } from 'ioredis';
import {
  ApproovService,
  MemoryReplayStore,
  RedisReplayStore,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import {
  createApproovInstallationKey,
  createApproovSecret,
  createApproovToken,
  signApproovRequest,
} from 'nestjs-approov/testing';
import { createHash, randomBytes } from 'node:crypto';
import {
  loadAverage,
  machineDescription,
  markdownTable,
  median,
  writeGeneratedBlock,
  textTable,
} from './common.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.BENCH_REPLAY_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_REPLAY_REQUESTS ?? 1000);
// The cost is measured, not the deadline: a CPU-starved bench machine must not turn rows into 503s.
const BENCH_TIMEOUT_MS = 2000;
const IN_FLIGHT = 64;
const MEMORY_ENTRIES = 100_000;
const HOST = 'api.example.com';

interface BenchRequest {
  method: string;
  url: string;
  originalUrl: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  socket: object;
}

const secret = createApproovSecret();
const installation = createApproovInstallationKey();
// The route's checked rules: the same object every call, as the decorator's metadata is.
const ROUTE = Object.freeze({ requireInstallationKey: true });

/** Distinct signed requests, as one device sends them: a token per 100 requests, a path each. */
function signedRequests(count: number, tag: string): BenchRequest[] {
  const requests: BenchRequest[] = [];
  let token = '';
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0)
      token = createApproovToken({
        secret,
        expiresIn: 3600,
        claims: { ipk: installation.ipk, did: `bench-${tag}-${i}` },
      });
    const path = `/orders/${tag}-${i}?page=1`;
    const signature = signApproovRequest({
      privateKey: installation.privateKey,
      method: 'GET',
      url: `http://${HOST}${path}`,
      token,
    });
    const headers = {
      host: HOST,
      'approov-token': token,
      'signature-input': signature['Signature-Input'],
      signature: signature.Signature,
    };
    requests.push({
      method: 'GET',
      url: path,
      originalUrl: path,
      headers,
      rawHeaders: Object.entries(headers).flat(),
      socket: {},
    });
  }
  return requests;
}

/** Token and signature checks as ApproovGuard runs them, through the service. */
async function verify(service: ApproovService, request: BenchRequest): Promise<void> {
  const outcome = service.verifyRequest(request);
  const token = outcome instanceof Promise ? await outcome : outcome;
  if (!token.ok) throw new Error(`bench token rejected: ${token.code}`);
  const signed = service.verifyMessageSignature(request, token.claims, ROUTE);
  const result = signed instanceof Promise ? await signed : signed;
  if (!result.ok) throw new Error(`bench request rejected: ${result.code}`);
}

interface Timing {
  /** Wall-clock microseconds per request. */
  wallUs: number;
  /** This process's CPU (user + system) microseconds per request: what the check costs the API server. */
  cpuUs: number;
}

async function timed(requests: BenchRequest[], run: () => Promise<void>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await run();
  const wall = Number(process.hrtime.bigint() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { wallUs: wall / requests.length, cpuUs: (used.user + used.system) / requests.length };
}

function sequential(service: ApproovService, requests: BenchRequest[]): Promise<Timing> {
  return timed(requests, async () => {
    for (const request of requests) await verify(service, request);
  });
}

function concurrent(service: ApproovService, requests: BenchRequest[]): Promise<Timing> {
  let next = 0;
  return timed(requests, async () => {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < requests.length) await verify(service, requests[next++]!);
      }),
    );
  });
}

interface Variant {
  name: string;
  service: ApproovService;
  sequential: Timing[];
  concurrent: Timing[];
}

async function measureCost(redisPrefix: string): Promise<Variant[]> {
  const base: ApproovModuleOptions = { secret };
  const redisStore = await RedisReplayStore.fromUrl(REDIS_URL, { keyPrefix: redisPrefix });
  if (!(await redisStore.checkHealth()))
    throw new Error(`bench:replay needs a Redis at ${REDIS_URL} (REDIS_URL)`);
  const variants: Variant[] = [
    {
      name: 'replay check off (allowReplays: true)',
      service: new ApproovService({ ...base, messageSigning: { allowReplays: true } }),
      sequential: [],
      concurrent: [],
    },
    {
      name: 'in-memory store (default)',
      service: new ApproovService(base),
      sequential: [],
      concurrent: [],
    },
    {
      name: 'Redis store, loopback',
      service: new ApproovService({
        ...base,
        replay: { store: redisStore, timeoutMs: BENCH_TIMEOUT_MS },
      }),
      sequential: [],
      concurrent: [],
    },
  ];
  // Warm-up: every path compiled and every cache in its steady state.
  for (const variant of variants)
    await sequential(variant.service, signedRequests(300, `warm-${variant.name.length}`));
  const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, in a rotating order, a fresh batch per variant and round (every request a first
    // sighting), each timed section starting from a collected heap: no variant pays another's garbage.
    for (let step = 0; step < variants.length; step++) {
      const index = (round + step) % variants.length;
      const variant = variants[index]!;
      let batch = signedRequests(PER_ROUND, `s${round}-${index}`);
      gc();
      variant.sequential.push(await sequential(variant.service, batch));
      batch = signedRequests(PER_ROUND, `c${round}-${index}`);
      gc();
      variant.concurrent.push(await concurrent(variant.service, batch));
    }
  }
  await redisStore.close();
  return variants;
}

/** Heap bytes per entry of the in-memory store, keys included (each request makes its key, the store keeps it). */
function memoryStoreBytesPerEntry(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:replay does)');
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = new MemoryReplayStore({ maxEntries: MEMORY_ENTRIES });
  for (let i = 0; i < MEMORY_ENTRIES; i++)
    store.rememberIfAbsent(createHash('sha256').update(`k${i}`).digest('base64url'), 60_000);
  gc();
  const after = process.memoryUsage().heapUsed;
  if (store.size !== MEMORY_ENTRIES) throw new Error('the store did not keep every entry');
  return (after - before) / MEMORY_ENTRIES;
}

async function redisBytesPerKey(prefix: string): Promise<number> {
  const client = new Redis(REDIS_URL);
  try {
    const store = new RedisReplayStore(client, { keyPrefix: prefix });
    const key = createHash('sha256').update('sample').digest('base64url');
    await store.rememberIfAbsent(key, 60_000);
    const bytes = (await client.call('MEMORY', 'USAGE', `${prefix}${key}`)) as number;
    await client.del(`${prefix}${key}`);
    return bytes;
  } finally {
    client.disconnect();
  }
}

async function deleteBenchKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    for await (const keys of client.scanStream({ match: `${prefix}*`, count: 1000 }))
      if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

const us = (value: number): string => value.toFixed(1);
const ratio = (value: number, baseline: number): string => `${(value / baseline).toFixed(2)}x`;
const plus = (value: number, baseline: number): string =>
  `${value - baseline >= 0 ? '+' : ''}${(value - baseline).toFixed(1)}`;

async function main(): Promise<void> {
  const prefix = `approov-bench:${randomBytes(4).toString('hex')}:`;
  const loadBefore = loadAverage();
  const started = Date.now();
  let variants: Variant[];
  let storeBytes: number;
  let redisBytes: number;
  try {
    variants = await measureCost(prefix);
    storeBytes = memoryStoreBytesPerEntry();
    redisBytes = await redisBytesPerKey(prefix);
  } finally {
    await deleteBenchKeys(prefix);
  }
  const baseline = variants[0]!;
  const cpuOf = (variant: Variant): number =>
    median(variant.concurrent.map((timing) => timing.cpuUs));
  const wallOf = (variant: Variant): number =>
    median(variant.sequential.map((timing) => timing.wallUs));
  const head = [
    'Signed GET: token + signature checks',
    `CPU us/req (${IN_FLIGHT} in flight)`,
    'vs off',
    'check costs, CPU us',
    'wall us/req, one at a time',
    'vs off',
  ];
  const rows = variants.map((variant) => [
    variant.name,
    us(cpuOf(variant)),
    ratio(cpuOf(variant), cpuOf(baseline)),
    plus(cpuOf(variant), cpuOf(baseline)),
    us(wallOf(variant)),
    ratio(wallOf(variant), wallOf(baseline)),
  ]);
  const memoryHead = ['Memory per remembered request', 'bytes'];
  const memoryRows = [
    [
      'in-memory store: heap per entry (43-character key, expiry, queue slot)',
      storeBytes.toFixed(0),
    ],
    [
      `in-memory store at its default bound (100,000 entries)`,
      `${((storeBytes * 100_000) / 1e6).toFixed(1)} MB`,
    ],
    [
      'Redis: MEMORY USAGE of one key (prefix "approov:replay:" + 43-character hash)',
      String(redisBytes),
    ],
  ];
  const setup =
    `${machineDescription()}. Load average ${loadBefore} at the start, ${loadAverage()} at the end (${((Date.now() - started) / 1000).toFixed(0)} s). ` +
    `${ROUNDS} rounds of ${PER_ROUND} distinct signed requests per variant (every one a first sighting), variants interleaved in a rotating order, a garbage collection before each timed batch, ` +
    `through ApproovService as ApproovGuard calls it (no HTTP); medians of the rounds. CPU: this process's user + system time ` +
    `with ${IN_FLIGHT} requests in flight, as a busy server runs them (what the check costs the server; Redis's own CPU not counted). ` +
    `Wall: each request awaited before the next, so the Redis row includes a full loopback round trip (a latency, and the figure ` +
    `most disturbed by other load on the machine) ` +
    `(store deadline raised to ${BENCH_TIMEOUT_MS} ms so that a starved machine measures cost, not 503s). ` +
    `${new Date().toISOString().slice(0, 10)}.`;
  const markdown = [
    '### Cost of the replay check (`npm run bench:replay`)',
    '',
    setup,
    '',
    markdownTable(head, rows),
    '',
    markdownTable(memoryHead, memoryRows),
  ].join('\n');
  process.stdout.write(
    `${setup}\n\n${textTable(head, rows)}\n\n${textTable(memoryHead, memoryRows)}\n`,
  );
  writeGeneratedBlock('bench:replay', markdown);
}

await main();
