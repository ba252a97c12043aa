// `npm run bench:memory`: the memory check alone; prints its table and writes its block of
// bench/README.md. With --json (as `npm run bench` calls it) it prints the result as JSON instead.
import { writeGeneratedBlock } from './common.js';
import { memoryBlock, runMemory } from './memory-core.js';

const result = runMemory(Number(process.env.BENCH_MEMORY_TOKENS ?? 1_000_000));
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const block = memoryBlock(result);
  process.stdout.write(`${block.text}\n`);
  writeGeneratedBlock('bench:memory', block.markdown);
}
