// bench/targets.ts judges a run: each speed target is the variant's rate as a share of its floor
// variant's, with the share of the no-op guard beside it; memory targets are bounds.
import type { MemoryResult } from '../../bench/memory-core.js';
import type { HttpRow, Sample } from '../../bench/rounds.js';
import { HTTP_TARGETS, httpTargets, memoryTargets, microTargets } from '../../bench/targets.js';
import { VARIANTS } from '../../bench/variants.js';

const sample = (requestsPerSec: number): Sample => ({
  requestsPerSec,
  p99Ms: 1,
  cpuUsPerRequest: 1e6 / requestsPerSec,
  clientCpuUsPerRequest: 10,
});

/** Rows for the given variants, each at `express` req/s on Express and half that on Fastify. */
function rows(rates: Record<string, number>): HttpRow[] {
  return Object.entries(rates).map(([id, rate]) => ({
    variant: VARIANTS.find((variant) => variant.id === id)!,
    medians: { express: sample(rate), fastify: sample(rate / 2) },
  }));
}

describe('bench targets', () => {
  it('judges every HTTP target against a floor variant that the bench runs', () => {
    const ids = new Set(VARIANTS.map((variant) => variant.id));
    for (const target of HTTP_TARGETS) {
      expect(ids.has(target.variant)).toBe(true);
      expect(ids.has(target.floor)).toBe(true);
      expect(target.goal).toBeGreaterThan(0);
      expect(target.goal).toBeLessThanOrEqual(1);
    }
  });

  it("reads a fresh token's rate as a share of the HMAC floor's, with the no-op share beside it", () => {
    const [express, fastify] = httpTargets(
      rows({ noop: 10_000, rotating: 7_200, 'hmac-floor': 8_000 }),
    );
    expect(express).toMatchObject({
      name: 'fresh token, every request a cache miss (express)',
      measured: '90.0%',
      met: true,
      context: '72.0% of no-op (floor 80.0%)',
    });
    expect(fastify?.name).toBe('fresh token, every request a cache miss (fastify)');
  });

  it('marks a share under the goal NOT met, printed with a decimal so it does not read as the goal', () => {
    const [express] = httpTargets(rows({ noop: 10_000, rotating: 6_780, 'hmac-floor': 8_000 }));
    expect(express).toMatchObject({ measured: '84.8%', met: false });
  });

  it('judges the repeated token against the no-op guard, its floor', () => {
    const [express] = httpTargets(rows({ noop: 10_000, repeated: 9_500 }));
    expect(express).toMatchObject({
      name: 'ApproovGuard, repeated token (express)',
      against: 'no-op guard',
      measured: '95.0%',
      met: true,
      context: '-',
    });
  });

  it('leaves out a target whose floor did not run (BENCH_ONLY)', () => {
    expect(httpTargets(rows({ noop: 10_000, rotating: 7_000, signed: 3_000 }))).toEqual([]);
  });

  it('takes the first micro task as the raw floor', () => {
    const targets = microTargets([
      { name: 'raw floor', nsPerOp: 2_000 },
      { name: 'fresh verify (cache disabled)', nsPerOp: 3_200 },
      { name: 'cached verify', nsPerOp: 600 },
    ]);
    expect(targets.map((t) => [t.measured, t.met])).toEqual([
      ['1.60x', false],
      ['0.30x', false],
    ]);
  });

  it("bounds the heap the cache retains by its byte budget, not by RSS's cold-start growth", () => {
    const memory: MemoryResult = {
      tokens: 1_000_000,
      warmupTokens: 200_000,
      cacheSize: 10_000,
      cacheMaxBytes: 8 * 1024 * 1024,
      startRssMb: 50,
      afterCacheFullRssMb: 60,
      steadyRssMb: 110,
      steadyPeakRssMb: 130,
      coldQuarterMeansMb: [100, 110, 111, 112],
      steadyQuarterMeansMb: [110, 111, 111, 111],
      peakRssMb: 150,
      endRssMb: 120,
      heapUsedStartMb: 4,
      heapUsedEndMb: 9,
      forged: { startRssMb: 100, peakRssMb: 105, endRssMb: 104 },
      floods: [
        {
          label: 'big tokens',
          tokens: 10_000,
          tokenLength: 4000,
          heapGrowthMb: 9,
          peakRssGrowthMb: 30,
        },
      ],
      seconds: 20,
    };
    const verdicts = Object.fromEntries(memoryTargets(memory).map((t) => [t.name, t.met]));
    expect(verdicts).toEqual({
      'heap retained after 1,000,000 distinct tokens, from a cold start': true,
      'RSS over 1,000,000 distinct tokens, after a 200,000-token warm-up': true,
      "RSS trend over 1,000,000 distinct tokens, from a cold start (last quarter's mean minus the second's)": true,
      "RSS trend over 1,000,000 distinct tokens, after the warm-up (last quarter's mean minus the second's)": true,
      'heap retained, flood of 10,000: big tokens': false,
    });
  });
});
