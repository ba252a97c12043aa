// `npm run bench:signing`: the cost of a signed request's message-signature check against the ECDSA
// verify floor; prints its table and writes the generated block of docs/sdk-clients.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './common.js';
import { runSigningBench, signingBlock } from './signing-core.js';

const PAGE = join(ROOT, 'docs', 'sdk-clients.md');
const START = '<!-- sdk-clients:signing-cost:start -->';
const END = '<!-- sdk-clients:signing-cost:end -->';

const results = await runSigningBench(
  Number(process.env.BENCH_MICRO_TIME_MS ?? 500),
  Number(process.env.BENCH_MICRO_ROUNDS ?? 5),
);
const block = signingBlock(results);
process.stdout.write(`${block.text}\n`);
if (existsSync(PAGE)) {
  const text = readFileSync(PAGE, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end < start) throw new Error(`${PAGE} has no ${START} ... ${END} block`);
  writeFileSync(
    PAGE,
    `${text.slice(0, start + START.length)}\n${block.markdown}\n${text.slice(end)}`,
  );
}
