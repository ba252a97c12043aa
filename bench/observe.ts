// `npm run bench:observe`: what observing a check costs. One ApproovCheck.check (the core decision
// ApproovGuard calls, no HTTP) with no onCheck hook, with an empty hook, and with
// approovOpenTelemetry() where @opentelemetry/api is installed but no SDK is registered (its no-op
// tracer and meter), on a pass (a cached token: the cheapest check, where a hook weighs most) and
// on a forged token. Batches of the variants are timed back to back in a rotating order, so machine
// load weighs on all alike; the ratio is the median, across rounds, of the median ratio of adjacent
// batches to the no-hook batch. Prints its table and writes its block of bench/README.md.
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { approovOpenTelemetry } from 'nestjs-approov/opentelemetry';
import { ApproovCheck, resolveApproovConfig } from './internals.js';
import {
  loadAverage,
  machineDescription,
  markdownTable,
  median,
  textTable,
  writeGeneratedBlock,
} from './common.js';

const BATCH = Number(process.env.BENCH_OBSERVE_BATCH ?? 200);
const BATCHES = Number(process.env.BENCH_OBSERVE_BATCHES ?? 200);
const ROUNDS = Number(process.env.BENCH_OBSERVE_ROUNDS ?? 7);

type Hook = ((report: unknown) => void) | undefined;
const VARIANTS: ReadonlyArray<readonly [string, () => Hook]> = [
  ['no hook (baseline)', () => undefined],
  ['empty onCheck hook', () => () => {}],
  ['approovOpenTelemetry(), no SDK', () => approovOpenTelemetry() as Hook],
];

const secret = createApproovSecret();
const token = createApproovToken({ secret, claims: { did: 'bench-device' }, expiresIn: 3600 });
const CASES = [
  ['pass, cached token', token],
  ['reject, forged token', `${token.slice(0, -2)}AA`],
] as const;

let sink: unknown;

/** A fresh request per call: a request that already passed is not checked again. */
const requests = (value: string) =>
  Array.from({ length: BATCH }, () => ({
    method: 'GET',
    url: '/bench',
    rawHeaders: ['Host', '127.0.0.1', 'Approov-Token', value],
    headers: {},
  }));

function main(): void {
  const loadBefore = loadAverage();
  const started = Date.now();
  const rules = { bindingHeaders: [] };
  const rows: string[][] = [];
  for (const [caseName, value] of CASES) {
    const checks = VARIANTS.map(([, hook]) => {
      const onCheck = hook();
      return new ApproovCheck(
        resolveApproovConfig(
          // Reject lines counted into a summary that never prints: the log costs nothing here.
          { secret, rejectLog: { lines: 'summary', intervalSec: 3600 }, onCheck },
          {},
        ),
        () => {},
      );
    });
    const timeBatch = (index: number): number => {
      const batch = requests(value);
      const check = checks[index]!;
      const start = process.hrtime.bigint();
      for (const request of batch) sink = check.check(request, rules);
      return Number(process.hrtime.bigint() - start) / BATCH;
    };
    for (let i = 0; i < 50; i++) VARIANTS.forEach((_, index) => timeBatch(index)); // warm-up
    const nsPerRound = VARIANTS.map(() => [] as number[]);
    const ratioPerRound = VARIANTS.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS; round++) {
      const ns = VARIANTS.map(() => [] as number[]);
      const ratios = VARIANTS.map(() => [] as number[]);
      for (let b = 0; b < BATCHES; b++) {
        const order = VARIANTS.map((_, i) => (i + b + round) % VARIANTS.length);
        const times: number[] = [];
        for (const index of order) times[index] = timeBatch(index);
        times.forEach((time, index) => {
          ns[index]!.push(time);
          ratios[index]!.push(time / times[0]!);
        });
      }
      ns.forEach((samples, index) => nsPerRound[index]!.push(median(samples)));
      ratios.forEach((samples, index) => ratioPerRound[index]!.push(median(samples)));
    }
    VARIANTS.forEach(([name], index) => {
      const ns = median(nsPerRound[index]!);
      const ratio = median(ratioPerRound[index]!);
      const added = ns - median(nsPerRound[0]!);
      const spread = Math.max(...ratioPerRound[index]!) - Math.min(...ratioPerRound[index]!);
      rows.push([
        caseName,
        name,
        (ns / 1000).toFixed(2),
        ratio.toFixed(2),
        `${added >= 0 ? '+' : ''}${(added / 1000).toFixed(2)}`,
        spread.toFixed(2),
      ]);
    });
  }
  void sink;

  const head = [
    'Check',
    'Variant',
    'median µs/check',
    'x no hook',
    'added µs',
    'ratio spread (max-min of rounds)',
  ];
  process.stdout.write(`${textTable(head, rows)}\n`);
  const how =
    `${machineDescription()}; load average ${loadBefore} at the start, ${loadAverage()} at the end ` +
    `(${Math.round((Date.now() - started) / 1000)} s). \`ApproovCheck.check\` as ApproovGuard calls it (no HTTP), ` +
    `a fresh request object per call; ${ROUNDS} rounds of ${BATCHES} batches of ${BATCH} calls per variant, the variants' ` +
    'batches timed back to back in a rotating order. µs/check: the median batch of each round, then the median of ' +
    'the rounds; x no hook: the median ratio of adjacent batches, then the median of the rounds. `no SDK`: ' +
    '@opentelemetry/api installed, no tracer or meter provider registered (its no-op ones). A ratio spread ' +
    'wider than the gap to 1.00 is noise.';
  writeGeneratedBlock(
    'bench:observe',
    `#### The onCheck hook (\`npm run bench:observe\`)\n\n${how}\n\n${markdownTable(head, rows)}`,
  );
}

main();
