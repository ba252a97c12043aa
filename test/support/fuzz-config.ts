// Bounded run counts for CI; `FUZZ_RUNS=n npm run fuzz:long` raises every property to n runs.

const fromEnv = Number(process.env.FUZZ_RUNS);

/** Runs per property: FUZZ_RUNS when set to a positive integer, else the CI default. */
export function fuzzRuns(ciDefault: number): number {
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : ciDefault;
}

/** A Jest timeout that grows with the run count (a safety net, not an assertion). */
export function fuzzTimeoutMs(runs: number, msPerRun: number): number {
  return 30_000 + runs * msPerRun;
}

/** Prints how many cases each property ran, so CI logs show the fuzz volume. */
export function reportFuzzCounts(
  suite: string,
  counts: Readonly<Record<string, number>>,
  notes: Readonly<Record<string, number>> = {},
): void {
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  const lines = [
    ...Object.entries(counts).map(([property, count]) => `  ${property}: ${count}`),
    ...Object.entries(notes).map(([note, value]) => `  (${note}: ${value})`),
  ];
  process.stdout.write(`[fuzz] ${suite}: ${total} cases\n${lines.join('\n')}\n`);
}
