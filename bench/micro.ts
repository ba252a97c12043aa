// `npm run bench:micro`: the core micro-benchmark alone; prints its table and writes its block of
// bench/README.md. With --json (as `npm run bench` calls it) it prints the results as JSON instead.
import { writeGeneratedBlock } from './common.js';
import { microBlock, runMicro } from './micro-core.js';

const results = await runMicro(
  Number(process.env.BENCH_MICRO_TIME_MS ?? 500),
  Number(process.env.BENCH_MICRO_ROUNDS ?? 5),
);
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  const block = microBlock(results);
  process.stdout.write(`${block.text}\n`);
  writeGeneratedBlock('bench:micro', block.markdown);
}
