// Memory check (run by memory.ts and run.ts): 1,000,000 distinct valid tokens through one
// verifier with the default cache, then 1,000,000 distinct forged ones, sampling RSS as it goes.
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { ApproovVerifier } from './internals.js';
import { createApproovSecret } from 'nestjs-approov/testing';
import { loadAverage, machineDescription, markdownTable, textTable } from './common.js';

export interface MemoryPhase {
  startRssMb: number;
  peakRssMb: number;
  endRssMb: number;
}

export interface MemoryResult {
  tokens: number;
  cacheSize: number;
  cachedAtEnd: number;
  startRssMb: number;
  afterCacheFullRssMb: number;
  /** RSS after the first WARMUP tokens, once V8 has sized its heap for the churn. */
  steadyRssMb: number;
  /** The highest RSS after the first WARMUP tokens. */
  steadyPeakRssMb: number;
  peakRssMb: number;
  endRssMb: number;
  /** Heap in use after a full GC: what is really retained. */
  heapUsedStartMb: number;
  heapUsedEndMb: number;
  forged: MemoryPhase;
  seconds: number;
}

const mb = (bytes: number): number => bytes / (1024 * 1024);
const rss = (): number => mb(process.memoryUsage.rss());
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

/** Tokens before the steady-state figures start: V8 grows its young and old generations to the churn first. */
export const WARMUP = 200_000;

export function runMemory(tokens = 1_000_000): MemoryResult {
  const started = Date.now();
  const secret = createApproovSecret();
  const rawKey = Buffer.from(secret, 'base64');
  const verifier = new ApproovVerifier({ keys: [createSecretKey(rawKey)] });
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  // Minted inline, one at a time, so the test itself holds no list of a million tokens.
  const mint = (i: number): string => {
    const payload = Buffer.from(JSON.stringify({ exp, ip: '203.0.113.7', did: `Device${i}` })).toString('base64url');
    const input = `${header}.${payload}`;
    return `${input}.${createHmac('sha256', rawKey).update(input).digest('base64url')}`;
  };

  collect();
  const heapUsedStartMb = mb(process.memoryUsage().heapUsed);
  const startRssMb = rss();
  let peakRssMb = startRssMb;
  let afterCacheFullRssMb = startRssMb;
  let steadyRssMb = startRssMb;
  let steadyPeakRssMb = 0;
  // The warm-up tokens come on top: `tokens` distinct tokens are measured after them.
  for (let i = 0; i < WARMUP + tokens; i++) {
    if (!verifier.verifyToken(mint(i)).ok) throw new Error('a valid token was rejected');
    if (i % 10_000 === 9_999) {
      const now = rss();
      peakRssMb = Math.max(peakRssMb, now);
      if (i === 9_999) afterCacheFullRssMb = now;
      if (i === WARMUP - 1) steadyRssMb = now;
      if (i >= WARMUP - 1) steadyPeakRssMb = Math.max(steadyPeakRssMb, now);
    }
  }
  const endRssMb = rss();
  const cachedAtEnd = verifier.cachedTokenCount;
  collect();
  const heapUsedEndMb = mb(process.memoryUsage().heapUsed);

  const template = mint(WARMUP + tokens);
  const prefix = template.slice(0, template.lastIndexOf('.') + 1);
  const forged: MemoryPhase = { startRssMb: rss(), peakRssMb: 0, endRssMb: 0 };
  forged.peakRssMb = forged.startRssMb;
  for (let i = 0; i < tokens; i++) {
    if (verifier.verifyToken(prefix + randomBytes(32).toString('base64url')).ok) throw new Error('a forged token passed');
    if (i % 10_000 === 9_999) forged.peakRssMb = Math.max(forged.peakRssMb, rss());
  }
  forged.endRssMb = rss();
  if (verifier.cachedTokenCount !== cachedAtEnd) throw new Error('forged tokens changed the cache');

  return {
    tokens,
    cacheSize: 10_000,
    cachedAtEnd,
    startRssMb,
    afterCacheFullRssMb,
    steadyRssMb,
    steadyPeakRssMb,
    peakRssMb,
    endRssMb,
    heapUsedStartMb,
    heapUsedEndMb,
    forged,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The memory table: for the terminal, and for docs/performance.md with how it was measured. */
export function memoryBlock(result: MemoryResult): { text: string; markdown: string } {
  const f = (value: number) => value.toFixed(1);
  const head = ['Phase', 'RSS start MB', 'RSS peak MB', 'RSS end MB', 'peak - start MB'];
  const rows = [
    [`${WARMUP.toLocaleString('en')} + ${result.tokens.toLocaleString('en')} distinct valid tokens, from a cold start`, f(result.startRssMb), f(result.peakRssMb), f(result.endRssMb), f(result.peakRssMb - result.startRssMb)],
    [`the ${result.tokens.toLocaleString('en')} after the first ${WARMUP.toLocaleString('en')}`, f(result.steadyRssMb), f(result.steadyPeakRssMb), f(result.endRssMb), f(result.steadyPeakRssMb - result.steadyRssMb)],
    [`then ${result.tokens.toLocaleString('en')} distinct forged tokens`, f(result.forged.startRssMb), f(result.forged.peakRssMb), f(result.forged.endRssMb), f(result.forged.peakRssMb - result.forged.startRssMb)],
  ];
  const how =
    `${machineDescription()}; load average ${loadAverage()} at the end; ${result.seconds.toFixed(0)} s. One ApproovVerifier with the default cache ` +
    `(${result.cacheSize.toLocaleString('en')} entries; ${result.cachedAtEnd.toLocaleString('en')} held at the end, unchanged by the forged flood). ` +
    `RSS sampled every 10,000 tokens (${f(result.afterCacheFullRssMb)} MB once the cache was full). ` +
    `Heap in use after a full GC, i.e. what is retained: ${f(result.heapUsedStartMb)} MB before, ${f(result.heapUsedEndMb)} MB after the valid tokens. ` +
    'The cold-start growth is V8 sizing its young and old generations to the allocation rate (every evicted entry is garbage in the old generation), not retained memory. ' +
    'Tokens are minted one at a time, never held in a list.';
  return {
    text: textTable(head, rows),
    markdown: `### Memory: ${result.tokens.toLocaleString('en')} distinct tokens through the verifier\n\n${how}\n\n${markdownTable(head, rows)}`,
  };
}
