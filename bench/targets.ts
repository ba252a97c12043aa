// The goals `npm run bench` judges a run by. Each speed target is a ratio to its floor: a variant
// doing only the work no implementation of that check can skip, measured in the same run and the
// same kind of server, so the ratio is what the module adds, and machine noise weighs on both
// sides alike. The ratio to the no-op guard is printed beside it, for context. Memory targets are
// bounds: what the module promises to stay within. bench/README.md says why each goal is what it is.
import type { MemoryResult } from './memory-core.js';
import type { MicroResult } from './micro-core.js';
import type { HttpRow } from './rounds.js';
import { PLATFORMS, type Platform } from './variants.js';

export interface Target {
  name: string;
  /** What the figure is judged against. */
  against: string;
  goal: string;
  measured: string;
  met: boolean;
  /** The same run seen against the no-op guard, or another figure that helps read the verdict. */
  context: string;
}

/** An HTTP target: the variant must serve at least `goal` of its floor variant's req/s. */
export interface FloorTarget {
  name: string;
  variant: string;
  floor: string;
  /** How the floor reads in the table. */
  floorName: string;
  goal: number;
}

export const HTTP_TARGETS: readonly FloorTarget[] = [
  {
    name: 'fresh token, every request a cache miss',
    variant: 'rotating',
    floor: 'hmac-floor',
    floorName: 'HMAC-only guard, same tokens',
    goal: 0.85,
  },
  {
    name: 'forged-token flood, logger on',
    variant: 'forged-logged',
    floor: 'hmac-floor-forged',
    floorName: 'HMAC-only guard, stackless 401',
    goal: 0.85,
  },
  {
    name: "AuthGuard('approov'), repeated token",
    variant: 'passport',
    floor: 'passport-floor',
    floorName: 'AuthGuard, strategy accepting at once',
    goal: 0.9,
  },
  {
    // A cache hit's unavoidable work is a lookup: its floor is the no-op guard itself.
    name: 'ApproovGuard, repeated token',
    variant: 'repeated',
    floor: 'noop',
    floorName: 'no-op guard',
    goal: 0.9,
  },
  {
    name: 'signed GET (@ApproovMessageSigning)',
    variant: 'signed',
    floor: 'ecdsa-floor',
    floorName: 'one ECDSA verify, same requests',
    goal: 0.7,
  },
];

/** A fresh HS256 verify may cost this many times the raw floor (its HMAC, compare, decoding and parse). */
const FRESH_VERIFY_MAX_FLOORS = 1.5;
/** A cache hit must cost at most this share of the raw floor it saves. */
const CACHED_VERIFY_MAX_FLOORS = 0.25;
const RSS_GROWTH_MAX_MB = 30;
const RSS_TREND_MAX_MB = 10;

export const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
const times = (ratio: number): string => `${ratio.toFixed(2)}x`;
const megabytes = (value: number): string => `${value.toFixed(1)} MB`;

export function httpTargets(rows: readonly HttpRow[]): Target[] {
  const rate = (id: string, platform: Platform): number | undefined =>
    rows.find((row) => row.variant.id === id)?.medians[platform].requestsPerSec;
  const list: Target[] = [];
  for (const target of HTTP_TARGETS) {
    for (const platform of PLATFORMS) {
      const value = rate(target.variant, platform);
      const floor = rate(target.floor, platform);
      const noop = rate('noop', platform);
      if (value === undefined || floor === undefined || !(floor > 0)) continue;
      const ratio = value / floor;
      list.push({
        name: `${target.name} (${platform})`,
        against: target.floorName,
        goal: `>= ${percent(target.goal)} of the floor's req/s`,
        measured: percent(ratio),
        met: ratio >= target.goal,
        context:
          noop === undefined || !(noop > 0) || target.floor === 'noop'
            ? '-'
            : `${percent(value / noop)} of no-op (floor ${percent(floor / noop)})`,
      });
    }
  }
  return list;
}

export function microTargets(micro: readonly MicroResult[]): Target[] {
  const floor = micro[0];
  const find = (prefix: string) => micro.find((result) => result.name.startsWith(prefix))?.nsPerOp;
  const fresh = find('fresh verify');
  const cached = find('cached verify');
  if (floor === undefined) return [];
  const list: Target[] = [];
  const against = 'raw floor (HMAC, compare, decode, parse)';
  if (fresh !== undefined) {
    list.push({
      name: 'fresh verify, cache disabled',
      against,
      goal: `<= ${times(FRESH_VERIFY_MAX_FLOORS)} the floor`,
      measured: times(fresh / floor.nsPerOp),
      met: fresh / floor.nsPerOp <= FRESH_VERIFY_MAX_FLOORS,
      context: `${fresh.toFixed(0)} ns, floor ${floor.nsPerOp.toFixed(0)} ns`,
    });
  }
  if (cached !== undefined) {
    list.push({
      name: 'cached verify',
      against,
      goal: `<= ${times(CACHED_VERIFY_MAX_FLOORS)} the floor`,
      measured: times(cached / floor.nsPerOp),
      met: cached / floor.nsPerOp <= CACHED_VERIFY_MAX_FLOORS,
      context: `${cached.toFixed(0)} ns`,
    });
  }
  return list;
}

export function memoryTargets(memory: MemoryResult): Target[] {
  const tokens = memory.tokens.toLocaleString('en');
  const budgetMb = memory.cacheMaxBytes / (1024 * 1024);
  const budget = `the cache byte budget (${megabytes(budgetMb)})`;
  const retained = memory.heapUsedEndMb - memory.heapUsedStartMb;
  const steady = memory.steadyPeakRssMb - memory.steadyRssMb;
  const list: Target[] = [
    {
      name: `heap retained after ${tokens} distinct tokens, from a cold start`,
      against: budget,
      goal: '<= the budget',
      measured: `+${megabytes(retained)} (${times(retained / budgetMb)} the budget)`,
      met: retained <= budgetMb,
      context: `RSS peak +${megabytes(memory.peakRssMb - memory.startRssMb)} over the start: V8 sizing its heap`,
    },
    {
      name: `RSS over ${tokens} distinct tokens, after a ${memory.warmupTokens.toLocaleString('en')}-token warm-up`,
      against: 'a bound',
      goal: `within ${RSS_GROWTH_MAX_MB} MB`,
      measured: `+${megabytes(steady)}`,
      met: steady <= RSS_GROWTH_MAX_MB,
      context: '-',
    },
  ];
  // Flat: the last quarter's mean RSS no higher than the second's (after the first quarter, where V8 sizes its heap).
  for (const [phase, means] of [
    ['from a cold start', memory.coldQuarterMeansMb],
    ['after the warm-up', memory.steadyQuarterMeansMb],
  ] as const) {
    const trend = means[3]! - means[1]!;
    list.push({
      name: `RSS trend over ${tokens} distinct tokens, ${phase} (last quarter's mean minus the second's)`,
      against: 'a bound',
      goal: `within ${RSS_TREND_MAX_MB} MB`,
      measured: `${trend >= 0 ? '+' : ''}${megabytes(trend)}`,
      met: trend <= RSS_TREND_MAX_MB,
      context: '-',
    });
  }
  for (const flood of memory.floods) {
    list.push({
      name: `heap retained, flood of ${flood.tokens.toLocaleString('en')}: ${flood.label}`,
      against: budget,
      goal: '<= the budget',
      measured: megabytes(flood.heapGrowthMb),
      met: flood.heapGrowthMb <= budgetMb,
      context: '-',
    });
  }
  return list;
}

export const TARGET_HEAD = [
  'Target',
  'Judged against',
  'Goal',
  'Measured',
  'Result',
  'For context',
];

export const targetCells = (targets: readonly Target[]): string[][] =>
  targets.map((t) => [t.name, t.against, t.goal, t.measured, t.met ? 'met' : 'NOT MET', t.context]);
