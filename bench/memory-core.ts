// Memory check (run by memory.ts and run.ts): 1,000,000 distinct valid tokens through one
// verifier with the default cache, then 1,000,000 distinct forged ones, sampling RSS as it goes;
// then floods of 10,000 big tokens (worst-case 4 KiB claims, and the biggest the cache accepts)
// against the cache's byte budget, with the heap read after full GCs.
import { createHmac, randomBytes } from 'node:crypto';
import { ApproovVerifier, resolveApproovConfig } from './internals.js';
import { createApproovSecret } from 'nestjs-approov/testing';
import { loadAverage, machineDescription, markdownTable, textTable } from './common.js';

export interface MemoryPhase {
  startRssMb: number;
  peakRssMb: number;
  endRssMb: number;
}

/** A flood of big distinct valid tokens through a fresh verifier with the default cache. */
export interface BudgetFlood {
  label: string;
  tokens: number;
  tokenLength: number;
  /** Heap in use after full GCs, after the flood minus before it: what the cache retains. */
  heapGrowthMb: number;
  peakRssGrowthMb: number;
}

export interface MemoryResult {
  tokens: number;
  /** Tokens before the steady-state figures start (WARMUP). */
  warmupTokens: number;
  cacheSize: number;
  cacheMaxBytes: number;
  startRssMb: number;
  afterCacheFullRssMb: number;
  /** RSS after the first WARMUP tokens, once V8 has sized its heap for the churn. */
  steadyRssMb: number;
  /** The highest RSS after the first WARMUP tokens. */
  steadyPeakRssMb: number;
  /** Mean RSS over each quarter of the whole run from the cold start, then of the part after the warm-up: flat means no upward trend. */
  coldQuarterMeansMb: number[];
  steadyQuarterMeansMb: number[];
  peakRssMb: number;
  endRssMb: number;
  /** Heap in use after a full GC: what is really retained. */
  heapUsedStartMb: number;
  heapUsedEndMb: number;
  forged: MemoryPhase;
  floods: BudgetFlood[];
  seconds: number;
}

const mb = (bytes: number): number => bytes / (1024 * 1024);
const rss = (): number => mb(process.memoryUsage.rss());
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

/** The mean of each quarter of `samples` (sampled at a steady rate, so the sawtooth of GC averages out). */
function quarterMeans(samples: readonly number[]): number[] {
  return [0, 1, 2, 3].map((q) => {
    const part = samples.slice(
      Math.floor((q * samples.length) / 4),
      Math.floor(((q + 1) * samples.length) / 4),
    );
    return part.length === 0
      ? Number.NaN
      : part.reduce((sum, value) => sum + value, 0) / part.length;
  });
}

/** Tokens before the steady-state figures start: V8 grows its young and old generations to the churn first. */
export const WARMUP = 200_000;

export function runMemory(tokens = 1_000_000): MemoryResult {
  const started = Date.now();
  const secret = createApproovSecret();
  const rawKey = Buffer.from(secret, 'base64');
  // The module's own defaults (cache entries and byte budget), as an app gets them.
  const config = resolveApproovConfig({ secret }).verifier;
  const verifier = new ApproovVerifier(config);
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const sign = (claims: object): string => {
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${createHmac('sha256', rawKey).update(input).digest('base64url')}`;
  };
  // Minted inline, one at a time, so the test itself holds no list of a million tokens.
  const mint = (i: number): string => sign({ exp, ip: '203.0.113.7', did: `Device${i}` });

  collect();
  const heapUsedStartMb = mb(process.memoryUsage().heapUsed);
  const startRssMb = rss();
  let peakRssMb = startRssMb;
  let afterCacheFullRssMb = startRssMb;
  let steadyRssMb = startRssMb;
  let steadyPeakRssMb = 0;
  const samples: number[] = []; // RSS every 10,000 tokens, from the cold start
  // The warm-up tokens come on top: `tokens` distinct tokens are measured after them.
  for (let i = 0; i < WARMUP + tokens; i++) {
    if (!verifier.verifyToken(mint(i)).ok) throw new Error('a valid token was rejected');
    if (i % 10_000 === 9_999) {
      const now = rss();
      samples.push(now);
      peakRssMb = Math.max(peakRssMb, now);
      if (i === 9_999) afterCacheFullRssMb = now;
      if (i === WARMUP - 1) steadyRssMb = now;
      if (i >= WARMUP - 1) steadyPeakRssMb = Math.max(steadyPeakRssMb, now);
    }
  }
  const endRssMb = rss();
  const lastValid = mint(WARMUP + tokens - 1);
  const lastVerified = verifier.verifyToken(lastValid);
  collect();
  const heapUsedEndMb = mb(process.memoryUsage().heapUsed);

  const template = mint(WARMUP + tokens);
  const prefix = template.slice(0, template.lastIndexOf('.') + 1);
  const forged: MemoryPhase = { startRssMb: rss(), peakRssMb: 0, endRssMb: 0 };
  forged.peakRssMb = forged.startRssMb;
  for (let i = 0; i < tokens; i++) {
    if (verifier.verifyToken(prefix + randomBytes(32).toString('base64url')).ok)
      throw new Error('a forged token passed');
    if (i % 10_000 === 9_999) forged.peakRssMb = Math.max(forged.peakRssMb, rss());
  }
  forged.endRssMb = rss();
  if (verifier.verifyToken(lastValid) !== lastVerified)
    throw new Error('the forged flood evicted a valid token');

  // Worst case for the heap: claims of empty objects, about 68 KB of V8 objects from 4 KiB of text;
  // such a token is verified but not cached. Then the biggest entries the cache still takes.
  const floods: BudgetFlood[] = [
    budgetFlood('worst-case 4 KiB tokens (claims: 990 empty objects)', (i) =>
      sign({ exp, i, x: Array.from({ length: 990 }, () => ({})) }),
    ),
    budgetFlood('the largest tokens the cache keeps (claims: 150 empty objects)', (i) =>
      sign({ exp, i, x: Array.from({ length: 150 }, () => ({})) }),
    ),
    budgetFlood('4 KiB tokens with one long string claim', (i) =>
      sign({ exp, i, x: 'a'.repeat(2_950) }),
    ),
  ];

  return {
    tokens,
    warmupTokens: WARMUP,
    cacheSize: config.cacheSize ?? 0,
    cacheMaxBytes: config.cacheMaxBytes ?? 0,
    startRssMb,
    afterCacheFullRssMb,
    steadyRssMb,
    steadyPeakRssMb,
    coldQuarterMeansMb: quarterMeans(samples),
    steadyQuarterMeansMb: quarterMeans(samples.slice(WARMUP / 10_000)),
    peakRssMb,
    endRssMb,
    heapUsedStartMb,
    heapUsedEndMb,
    forged,
    floods,
    seconds: (Date.now() - started) / 1000,
  };

  function budgetFlood(label: string, make: (i: number) => string, count = 10_000): BudgetFlood {
    const fresh = new ApproovVerifier(config);
    collect();
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = rss();
    let peak = rssBefore;
    let tokenLength = 0;
    for (let i = 0; i < count; i++) {
      const token = make(i);
      tokenLength = Math.max(tokenLength, token.length);
      if (token.length > 4096 || !fresh.verifyToken(token).ok)
        throw new Error(`a flood token was rejected: ${label}`);
      if (i % 1_000 === 999) peak = Math.max(peak, rss());
    }
    collect();
    collect();
    const heapGrowthMb = mb(process.memoryUsage().heapUsed - heapBefore);
    void fresh.verifyToken(make(0)); // keeps the verifier (and its cache) alive until after the reading
    return { label, tokens: count, tokenLength, heapGrowthMb, peakRssGrowthMb: peak - rssBefore };
  }
}

/** The memory table: for the terminal, and for bench/README.md with how it was measured. */
export function memoryBlock(result: MemoryResult): { text: string; markdown: string } {
  const f = (value: number) => value.toFixed(1);
  const budgetMb = mb(result.cacheMaxBytes);
  const floodHead = [
    'Flood of 10,000 distinct valid tokens',
    'token length',
    'heap retained MB (after GC)',
    'RSS peak growth MB',
    `within the ${f(budgetMb)} MB budget`,
  ];
  const floodRows = result.floods.map((flood) => [
    flood.label,
    String(flood.tokenLength),
    f(flood.heapGrowthMb),
    f(flood.peakRssGrowthMb),
    flood.heapGrowthMb <= budgetMb ? 'yes' : 'NO',
  ]);
  const head = [
    'Phase',
    'RSS start MB',
    'RSS peak MB',
    'RSS end MB',
    'peak - start MB',
    'mean RSS by quarter MB',
  ];
  const quarters = (means: readonly number[]): string => means.map(f).join(' / ');
  const rows = [
    [
      `${WARMUP.toLocaleString('en')} + ${result.tokens.toLocaleString('en')} distinct valid tokens, from a cold start`,
      f(result.startRssMb),
      f(result.peakRssMb),
      f(result.endRssMb),
      f(result.peakRssMb - result.startRssMb),
      quarters(result.coldQuarterMeansMb),
    ],
    [
      `the ${result.tokens.toLocaleString('en')} after the first ${WARMUP.toLocaleString('en')}`,
      f(result.steadyRssMb),
      f(result.steadyPeakRssMb),
      f(result.endRssMb),
      f(result.steadyPeakRssMb - result.steadyRssMb),
      quarters(result.steadyQuarterMeansMb),
    ],
    [
      `then ${result.tokens.toLocaleString('en')} distinct forged tokens`,
      f(result.forged.startRssMb),
      f(result.forged.peakRssMb),
      f(result.forged.endRssMb),
      f(result.forged.peakRssMb - result.forged.startRssMb),
      '-',
    ],
  ];
  const how =
    `${machineDescription()}; load average ${loadAverage()} at the end; ${result.seconds.toFixed(0)} s. One ApproovVerifier with the default cache ` +
    `(at most ${result.cacheSize.toLocaleString('en')} entries and ${f(mb(result.cacheMaxBytes))} MB; the forged flood evicted no valid token). ` +
    `RSS sampled every 10,000 tokens (${f(result.afterCacheFullRssMb)} MB once the cache was full). ` +
    `Heap in use after a full GC, i.e. what is retained: ${f(result.heapUsedStartMb)} MB before, ${f(result.heapUsedEndMb)} MB after the valid tokens. ` +
    'The cold-start growth is V8 sizing its young and old generations to the allocation rate (every evicted entry is garbage in the old generation), not retained memory: ' +
    'the heap after GC barely moves, and the mean RSS by quarter shows whether RSS keeps climbing with the number of tokens. ' +
    'Tokens are minted one at a time, never held in a list.';
  const floodHow =
    'Each flood runs through a fresh verifier with the default cache; heap read after two full GCs before and after. ' +
    'Entries are counted from the token length and the claims kept, on the high side; a token whose entry would count more than 16 KiB is verified but not cached.';
  return {
    text: `${textTable(head, rows)}\n\n${textTable(floodHead, floodRows)}`,
    markdown:
      `### Memory: ${result.tokens.toLocaleString('en')} distinct tokens through the verifier\n\n${how}\n\n${markdownTable(head, rows)}\n\n` +
      `#### The cache's byte budget under floods of big tokens\n\n${floodHow}\n\n${markdownTable(floodHead, floodRows)}`,
  };
}
