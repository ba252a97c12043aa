// `npm run bench:signing`: the cost of a signed request's message-signature check against the ECDSA
// verify floor; prints its table and writes its generated block of bench/README.md.
import { writeGeneratedBlock } from './common.js';
import { runSigningBench, signingBlock } from './signing-core.js';

const results = await runSigningBench(
  Number(process.env.BENCH_MICRO_TIME_MS ?? 500),
  Number(process.env.BENCH_MICRO_ROUNDS ?? 5),
);
const block = signingBlock(results);
process.stdout.write(`${block.text}\n`);
writeGeneratedBlock('bench:signing', block.markdown);
