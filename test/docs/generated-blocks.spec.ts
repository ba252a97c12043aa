// docs/performance.md types no figure by hand: its figures sit in blocks that the bench and soak
// scripts rewrite between markers. The markers must be there, once each, for the scripts to find.
import { join } from 'node:path';
import { ROOT, read } from './markdown.js';

const PAGE = join(ROOT, 'docs', 'performance.md');
const BENCH_WRITER = join(ROOT, 'bench', 'common.ts');
const SOAK_WRITER = join(ROOT, 'scripts', 'soak.mjs');

/** The block names bench/common.ts writes (`performance:<name>`), read from its BLOCKS list. */
function benchBlockNames(): string[] {
  const list = /const BLOCKS = \[([^\]]*)\]/.exec(read(BENCH_WRITER))?.[1];
  if (list === undefined) throw new Error('bench/common.ts has no BLOCKS list');
  return [...list.matchAll(/'([^']+)'/g)].map((match) => `performance:${match[1]}`);
}

const count = (text: string, part: string): number => text.split(part).length - 1;

/** docs/performance.md with every generated block cut out: the prose. */
function prose(page: string, blocks: readonly string[]): string {
  let text = page;
  for (const block of blocks) {
    const start = text.indexOf(`<!-- ${block}:start -->`);
    const end = text.indexOf(`<!-- ${block}:end -->`);
    text = text.slice(0, start) + text.slice(end);
  }
  return text;
}

describe('generated blocks of docs/performance.md', () => {
  const page = read(PAGE);
  const blocks = [...benchBlockNames(), 'soak'];

  it('knows the blocks the bench writes (http, micro, memory) and the soak block', () => {
    expect(blocks).toEqual(['performance:http', 'performance:micro', 'performance:memory', 'soak']);
  });

  it.each(blocks)(
    '%s: one start marker, then one end marker, with a table between them',
    (block) => {
      const start = `<!-- ${block}:start -->`;
      const end = `<!-- ${block}:end -->`;
      expect([count(page, start), count(page, end)]).toEqual([1, 1]);
      const content = page.slice(page.indexOf(start) + start.length, page.indexOf(end));
      expect(content).toMatch(/\n\| .* \|\n\| ---/);
    },
  );

  it('is where the writers write: bench/common.ts and scripts/soak.mjs target docs/performance.md', () => {
    expect(read(BENCH_WRITER)).toMatch(/BENCHMARKS_FILE = join\(ROOT, 'docs', 'performance\.md'\)/);
    expect(read(SOAK_WRITER)).toMatch(
      /new URL\('\.\.\/docs\/performance\.md', import\.meta\.url\)/,
    );
  });

  it('types no measured figure in its prose, outside the generated blocks', () => {
    const figure = /\d[\d,.]*\s?(?:µs|us|ns|ms|MB|KB|req\/s|%|x\b)/g;
    expect(prose(page, blocks).match(figure) ?? []).toEqual([]);
    expect(page.match(figure)?.length ?? 0).toBeGreaterThan(0); // the pattern does find the generated figures
  });
});
