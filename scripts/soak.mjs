// `npm run soak`: a bounded loopback soak of the built sample app, on Express then Fastify.
// Per adapter: a warm-up, then SOAK_REQUESTS (default 200,000) mixed requests through autocannon
// (valid, invalid, bound, double-bound, oversized tokens), with SOAK_OVERSIZE requests whose
// header is over Node's limit (431, one socket each) spread among them. It checks every answer
// against the expected status and body, reads the server's RSS from /proc/<pid>/status (after a
// full GC at the end of each phase), stops the server, and writes the figures to
// .soak/last-run.json and to the soak block of bench/README.md. Exit code 1 on any 5xx,
// misclassified answer, connection error, RSS growth of 50 MB or more, or overall timeout.
// Settings: SOAK_REQUESTS, SOAK_WARMUP, SOAK_OVERSIZE, SOAK_CONNECTIONS, SOAK_TIMEOUT_SEC,
// SOAK_PLATFORMS (express,fastify); SOAK_TRACE=1 prints the RSS samples (one a second).
import autocannon from 'autocannon';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { assertSampleAppBuilt, launchSampleApp } from './sample-app.mjs';

const BENCHMARKS = fileURLToPath(new URL('../bench/README.md', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../.soak/', import.meta.url));

const positiveInt = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};
const REQUESTS = positiveInt('SOAK_REQUESTS', 200_000);
const WARMUP = positiveInt('SOAK_WARMUP', 40_000);
const OVERSIZE = positiveInt('SOAK_OVERSIZE', 2_000);
const CONNECTIONS = positiveInt('SOAK_CONNECTIONS', 16);
const TIMEOUT_SEC = positiveInt('SOAK_TIMEOUT_SEC', 900);
const MAX_RSS_GROWTH_MB = 50;
const PLATFORMS = (process.env.SOAK_PLATFORMS ?? 'express,fastify').split(',');

try {
  assertSampleAppBuilt();
} catch (error) {
  console.error(`soak: ${error.message}`);
  process.exit(1);
}

// The whole run is bounded: past the deadline, stop everything and fail.
const children = new Set();
const watchdog = setTimeout(() => {
  console.error(`soak: over ${TIMEOUT_SEC}s, stopping`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}, TIMEOUT_SEC * 1000);
watchdog.unref();

const secret = createApproovSecret();
const otherSecret = createApproovSecret();
const OK_BODY = JSON.stringify({ message: 'Hello, World!' });
const UNAUTHORIZED_BODY = JSON.stringify({ statusCode: 401, message: 'Unauthorized' });
const AUTH = 'Bearer soak-user-token';
const SESSION = 'soak-session-1';
const HOUR = 3600;

const token = (options = {}) => createApproovToken({ secret, expiresIn: HOUR, ...options });
/** A correctly signed token padded to about `length` characters (over the 4 KiB limit). */
const paddedToken = (length) => token({ claims: { pad: 'p'.repeat(Math.ceil((length * 3) / 4)) } });
let fresh = 0;
/** A never-seen token each time, so the verified-token cache misses and fills up. */
const freshToken = (options = {}) =>
  token({ ...options, claims: { did: `soak-${fresh++}`, ...options.claims } });

// One request of each kind per cycle; every connection loops over the list. `fresh` kinds mint a
// new token per request. `expect` is the only right answer.
const KINDS = [
  { kind: 'valid', name: 'hello, no token', path: '/hello', headers: () => ({}), expect: 200 },
  {
    kind: 'valid',
    name: 'token-check, repeated token',
    path: '/token-check',
    headers: ((t) => () => ({ 'approov-token': t }))(token()),
    expect: 200,
  },
  {
    kind: 'valid',
    name: 'token-check, fresh token',
    path: '/token-check',
    headers: () => ({ 'approov-token': freshToken() }),
    expect: 200,
  },
  {
    kind: 'invalid',
    name: 'missing token',
    path: '/token-check',
    headers: () => ({}),
    expect: 401,
  },
  {
    kind: 'invalid',
    name: 'wrong secret',
    path: '/token-check',
    headers: () => ({ 'approov-token': createApproovToken({ secret: otherSecret }) }),
    expect: 401,
  },
  {
    kind: 'invalid',
    name: 'expired',
    path: '/token-check',
    headers: () => ({ 'approov-token': freshToken({ expiresIn: -60 }) }),
    expect: 401,
  },
  {
    kind: 'invalid',
    name: 'alg none',
    path: '/token-check',
    headers: () => ({
      'approov-token': token({ joseHeader: { alg: 'none' } }).replace(/[^.]+$/, '') + 'x',
    }),
    expect: 401,
  },
  {
    kind: 'invalid',
    name: 'SDK status string',
    path: '/token-check',
    headers: () => ({ 'approov-token': 'NO_NETWORK' }),
    expect: 401,
  },
  {
    kind: 'bound',
    name: 'binding, fresh token',
    path: '/token-binding',
    headers: () => ({ 'approov-token': freshToken({ bind: AUTH }), authorization: AUTH }),
    expect: 200,
  },
  {
    kind: 'bound',
    name: 'binding mismatch',
    path: '/token-binding',
    headers: () => ({ 'approov-token': freshToken({ bind: AUTH }), authorization: `${AUTH}x` }),
    expect: 401,
  },
  {
    kind: 'bound',
    name: 'binding, token without pay',
    path: '/token-binding',
    headers: () => ({ 'approov-token': freshToken(), authorization: AUTH }),
    expect: 401,
  },
  {
    kind: 'double-bound',
    name: 'double binding, fresh token',
    path: '/token-double-binding',
    headers: () => ({
      'approov-token': freshToken({ bind: [AUTH, SESSION] }),
      authorization: AUTH,
      sessionid: SESSION,
    }),
    expect: 200,
  },
  {
    kind: 'double-bound',
    name: 'double binding, SessionId missing',
    path: '/token-double-binding',
    headers: () => ({
      'approov-token': freshToken({ bind: [AUTH, SESSION] }),
      authorization: AUTH,
    }),
    expect: 401,
  },
  {
    kind: 'double-bound',
    name: 'double binding, order swapped',
    path: '/token-double-binding',
    headers: () => ({
      'approov-token': freshToken({ bind: [SESSION, AUTH] }),
      authorization: AUTH,
      sessionid: SESSION,
    }),
    expect: 401,
  },
  {
    kind: 'oversized',
    name: 'signed token of 5 KiB',
    path: '/token-check',
    headers: ((t) => () => ({ 'approov-token': t }))(paddedToken(5 * 1024)),
    expect: 401,
  },
  {
    kind: 'oversized',
    name: 'signed token of 12 KiB',
    path: '/token-check',
    headers: ((t) => () => ({ 'approov-token': t }))(paddedToken(12 * 1024)),
    expect: 401,
  },
];

/** VmRSS of a live process in MB; NaN once it has exited. */
function readRssMb(pid) {
  let status;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return Number.NaN;
  }
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

// Loaded into the server with --import: on SIGWINCH, full GCs (a few, so V8 also shrinks the
// heap it keeps committed), then one line with its memory.
const GC_ON_SIGWINCH =
  "data:text/javascript,process.on('SIGWINCH', () => { globalThis.gc(); globalThis.gc(); globalThis.gc(); " +
  "process.stdout.write('soak-memory ' + JSON.stringify(process.memoryUsage()) + '\\n'); })";

/**
 * Memory of the server right after full GCs (SIGWINCH): VmRSS, and V8's heapUsed as the server
 * reports it. Reading right after the GCs gives both phases the same state; RSS read at a random
 * moment moves by tens of MB with V8's committed heap and the allocator's own timing.
 */
async function settledMemory(server) {
  // A moment for the sockets of the last requests to close.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  server.memory = undefined;
  server.child.kill('SIGWINCH');
  const deadline = Date.now() + 5_000;
  while (server.memory === undefined && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    rss: readRssMb(server.pid),
    heapUsed: server.memory === undefined ? Number.NaN : server.memory.heapUsed / 2 ** 20,
  };
}

async function startSoakApp(platform) {
  // --expose-gc and a SIGWINCH listener (ignored by default, and not one of the signals Nest's
  // shutdown hooks catch) let the soak read memory right after full GCs; the app runs unchanged.
  const app = launchSampleApp({
    platform,
    env: { APPROOV_BASE64_SECRET: secret },
    nodeArgs: ['--expose-gc', `--import=${GC_ON_SIGWINCH}`],
    name: `sample app (${platform})`,
    startTimeoutMs: 30_000,
  });
  children.add(app.child);
  app.child.on('exit', () => children.delete(app.child));
  const server = {
    app,
    child: app.child,
    pid: app.pid,
    url: undefined,
    rejectLogLines: 0,
    rejectsCounted: 0,
    get exited() {
      return app.child.exitCode !== null || app.child.signalCode !== null;
    },
  };
  // The app's reject log (summary mode, the default) gives the first rejects of a code in an
  // interval a line each and counts the rest into one line per code: tally both.
  app.onLine((line) => {
    if (/\brejected \w+/.test(line)) server.rejectLogLines++;
    const counted = /\b[a-z_]+: (\d+) more in the last \d+ s\b/.exec(line);
    if (counted !== null) server.rejectsCounted += Number(counted[1]);
    if (line.startsWith('soak-memory ')) {
      server.memory = JSON.parse(line.slice('soak-memory '.length));
      if (process.env.SOAK_TRACE) process.stdout.write(`${line}\n`);
    }
  });
  server.url = await app.listening;
  return server;
}

const stopSampleApp = (server) => server.app.stop(10_000);

/**
 * Runs `amount` requests over the KINDS cycle through autocannon, plus `overLimitAmount` requests
 * with a header over Node's limit spread evenly among them, and tallies each answer.
 */
async function drive(url, amount, overLimitAmount, tally) {
  const requests = KINDS.map((kind) => ({
    method: 'GET',
    path: kind.path,
    setupRequest: (request) => ({ ...request, headers: kind.headers() }),
    onResponse: (status, body) => {
      const row = (tally[kind.name] ??= {
        kind: kind.kind,
        expect: kind.expect,
        count: 0,
        misclassified: 0,
        statuses: {},
      });
      row.count++;
      row.statuses[status] = (row.statuses[status] ?? 0) + 1;
      const expectedBody = kind.expect === 200 ? OK_BODY : UNAUTHORIZED_BODY;
      if (status !== kind.expect || body !== expectedBody) row.misclassified++;
    },
  }));
  const overLimitRow = (tally['header over 16 KiB'] ??= {
    kind: 'oversized',
    expect: 431,
    count: 0,
    misclassified: 0,
    statuses: {},
  });
  const overLimitEvery = Math.max(1, Math.floor(amount / overLimitAmount));
  const overLimitPending = [];
  let responses = 0;
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections: CONNECTIONS, amount, requests, timeout: 10 },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', () => {
      if (++responses % overLimitEvery === 0 && overLimitPending.length < overLimitAmount) {
        overLimitPending.push(overLimit(url, overLimitRow));
      }
    });
  });
  const overLimitErrors = (await Promise.all(overLimitPending)).filter((ok) => !ok).length;
  return {
    errors: result.errors + overLimitErrors,
    timeouts: result.timeouts,
    durationSec: result.duration,
  };
}

/** One request whose header is over Node's 16 KiB limit: the answer must be 431 (then close), never 5xx. */
function overLimit(url, row) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let text = '';
    socket.setTimeout(10_000, () => socket.destroy());
    socket.setEncoding('latin1').on('data', (chunk) => (text += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      row.count++;
      row.statuses[status] = (row.statuses[status] ?? 0) + 1;
      if (status !== row.expect) row.misclassified++;
      resolve(status !== 0);
    });
    socket.write(OVER_LIMIT_REQUEST);
  });
}

const OVER_LIMIT_REQUEST = `GET /token-check HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nApproov-Token: ${'a'.repeat(20 * 1024)}\r\n\r\n`;

async function soak(platform) {
  const server = await startSoakApp(platform);
  const samples = [];
  const sampler = setInterval(() => {
    const rss = readRssMb(server.pid);
    if (Number.isNaN(rss)) return;
    samples.push(rss);
    if (process.env.SOAK_TRACE) process.stdout.write(`rss ${round(rss)}\n`);
  }, 1000);
  try {
    const rssAtStart = readRssMb(server.pid);
    const warmupTally = {};
    const warmup = await drive(
      server.url,
      WARMUP,
      Math.ceil((OVERSIZE * WARMUP) / REQUESTS),
      warmupTally,
    );
    const afterWarmup = await settledMemory(server);
    const tally = {};
    const main = await drive(server.url, REQUESTS, OVERSIZE, tally);
    const atEnd = await settledMemory(server);
    const serverAlive = !server.exited;
    await stopSampleApp(server);
    await server.app.closed; // every line read, the summaries flushed at shutdown included

    const rows = Object.entries(tally).map(([name, row]) => ({ name, ...row }));
    const all = [...rows, ...Object.values(warmupTally)];
    const countStatuses = (predicate) =>
      all.reduce(
        (sum, row) =>
          sum +
          Object.entries(row.statuses).reduce(
            (s, [status, n]) => s + (predicate(Number(status)) ? n : 0),
            0,
          ),
        0,
      );
    return {
      platform,
      requests: rows.reduce((sum, row) => sum + row.count, 0),
      warmupRequests: Object.values(warmupTally).reduce((sum, row) => sum + row.count, 0),
      byKind: Object.fromEntries(
        ['valid', 'invalid', 'bound', 'double-bound', 'oversized'].map((kind) => [
          kind,
          rows.filter((row) => row.kind === kind).reduce((sum, row) => sum + row.count, 0),
        ]),
      ),
      fiveXx: countStatuses((status) => status >= 500),
      misclassified: all.reduce((sum, row) => sum + row.misclassified, 0),
      connectionErrors: warmup.errors + main.errors,
      timeouts: warmup.timeouts + main.timeouts,
      rejectLogLines: server.rejectLogLines,
      rejectsCounted: server.rejectsCounted,
      answered401: countStatuses((status) => status === 401),
      serverAlive,
      requestsPerSec: Math.round(rows.reduce((sum, row) => sum + row.count, 0) / main.durationSec),
      rssMb: {
        start: round(rssAtStart),
        afterWarmup: round(afterWarmup.rss),
        end: round(atEnd.rss),
        peak: round(Math.max(...samples, atEnd.rss)),
        growth: round(atEnd.rss - afterWarmup.rss),
      },
      heapUsedMb: {
        afterWarmup: round(afterWarmup.heapUsed),
        end: round(atEnd.heapUsed),
        growth: round(atEnd.heapUsed - afterWarmup.heapUsed),
      },
      rows,
    };
  } finally {
    clearInterval(sampler);
    await stopSampleApp(server);
  }
}

const round = (value) => Math.round(value * 10) / 10;

function verdict(result) {
  const problems = [];
  if (result.fiveXx !== 0) problems.push(`${result.fiveXx} answers were 5xx`);
  if (result.misclassified !== 0)
    problems.push(`${result.misclassified} answers were misclassified`);
  if (result.connectionErrors !== 0 || result.timeouts !== 0)
    problems.push(`${result.connectionErrors} connection errors, ${result.timeouts} timeouts`);
  if (!result.serverAlive) problems.push('the server died');
  if (result.rssMb.growth >= MAX_RSS_GROWTH_MB)
    problems.push(`RSS grew ${result.rssMb.growth} MB (limit ${MAX_RSS_GROWTH_MB})`);
  const logged = result.rejectLogLines + result.rejectsCounted;
  if (logged !== result.answered401) {
    problems.push(
      `the reject log accounts for ${logged} rejects (${result.rejectLogLines} lines + ${result.rejectsCounted} counted) for ${result.answered401} 401 answers`,
    );
  }
  return problems;
}

function machine() {
  return {
    date: new Date().toISOString().slice(0, 10),
    nproc: os.availableParallelism(),
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    os: `${os.type()} ${os.release()}`,
  };
}

function markdown(env, results) {
  const fmt = (n) => n.toLocaleString('en-US');
  const lines = [
    `Last run ${env.date} by \`npm run soak\`: ${env.nproc} CPUs (\`nproc\`), ${env.cpu}, Node ${env.node}, ${env.os}; server and load generator on the same machine, loopback only, ${CONNECTIONS} keep-alive connections.`,
    '',
    `Each adapter: ${fmt(WARMUP)} warm-up requests, then ${fmt(REQUESTS)} mixed requests (one of each of ${KINDS.length} kinds per cycle, most with a never-seen token), with ${fmt(OVERSIZE)} requests whose header is over Node's 16 KiB limit (431) spread among them. RSS (VmRSS of the server process) and V8's heap used are read at the end of each phase right after full GCs, forced through a SIGWINCH listener loaded with \`--import\` (read at a random moment, RSS moves by tens of MB with V8's committed heap); the RSS peak is the highest of the once-a-second samples, without forced GC.`,
    '',
    '| Adapter | Requests (after warm-up) | valid / invalid / bound / double-bound / oversized | 5xx | Misclassified | Errors | req/s | 401s: reject log lines + counted | RSS after warm-up | RSS at end | RSS growth | RSS peak | V8 heap used, after warm-up -> end | Verdict |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => {
      const problems = verdict(r);
      const signed = (n) => `${n >= 0 ? '+' : ''}${n}`;
      return `| ${r.platform} | ${fmt(r.requests)} | ${Object.values(r.byKind).map(fmt).join(' / ')} | ${r.fiveXx} | ${r.misclassified} | ${r.connectionErrors + r.timeouts} | ${fmt(r.requestsPerSec)} | ${fmt(r.answered401)}: ${fmt(r.rejectLogLines)} + ${fmt(r.rejectsCounted)} | ${r.rssMb.afterWarmup} MB | ${r.rssMb.end} MB | ${signed(r.rssMb.growth)} MB | ${r.rssMb.peak} MB | ${r.heapUsedMb.afterWarmup} -> ${r.heapUsedMb.end} MB (${signed(r.heapUsedMb.growth)}) | ${problems.length === 0 ? 'pass' : `FAIL: ${problems.join('; ')}`} |`;
    }),
    '',
    `Pass means: no 5xx, every answer the expected status and body (200 \`${OK_BODY}\`, 401 \`${UNAUTHORIZED_BODY}\`, 431), no connection errors, a reject log that accounts for every 401 (its own lines plus the counts of its summary lines, the last ones written at shutdown), and RSS growth under ${MAX_RSS_GROWTH_MB} MB from after warm-up to the end.`,
  ];
  return lines.join('\n');
}

function writeBenchmarks(section) {
  const start = '<!-- soak:start -->';
  const end = '<!-- soak:end -->';
  const block = `${start}\n${section}\n${end}`;
  const current = existsSync(BENCHMARKS) ? readFileSync(BENCHMARKS, 'utf8') : '# Performance\n';
  let next;
  if (current.includes(start) && current.includes(end)) {
    next =
      current.slice(0, current.indexOf(start)) +
      block +
      current.slice(current.indexOf(end) + end.length);
  } else {
    next = `${current.replace(/\n*$/, '\n')}\n## Soak\n\nRegenerated by \`npm run soak\` (scripts/soak.mjs).\n\n${block}\n`;
  }
  writeFileSync(BENCHMARKS, next);
}

const env = machine();
const results = [];
for (const platform of PLATFORMS) {
  process.stdout.write(
    `soak: ${platform}: ${WARMUP} warm-up, then ${REQUESTS} mixed + ${OVERSIZE} over-limit requests...\n`,
  );
  const result = await soak(platform);
  results.push(result);
  const problems = verdict(result);
  process.stdout.write(
    `soak: ${platform}: ${result.requests} requests, 5xx ${result.fiveXx}, misclassified ${result.misclassified}, ` +
      `errors ${result.connectionErrors + result.timeouts}, ${result.requestsPerSec} req/s, RSS ${result.rssMb.afterWarmup} -> ${result.rssMb.end} MB ` +
      `(peak ${result.rssMb.peak}), heap used ${result.heapUsedMb.afterWarmup} -> ${result.heapUsedMb.end} MB, ` +
      `${problems.length === 0 ? 'pass' : `FAIL: ${problems.join('; ')}`}\n`,
  );
}
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(
  new URL('last-run.json', `file://${RESULTS_DIR}`),
  JSON.stringify({ env, settings: { REQUESTS, WARMUP, OVERSIZE, CONNECTIONS }, results }, null, 2),
);
const complete = PLATFORMS.length === 2 && REQUESTS >= 200_000;
if (complete) writeBenchmarks(markdown(env, results));
else
  process.stdout.write(
    'soak: partial run (fewer than 200,000 requests or one adapter): bench/README.md left as is\n',
  );
clearTimeout(watchdog);
process.exit(results.every((result) => verdict(result).length === 0) ? 0 : 1);
