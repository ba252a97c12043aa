// No figure in the docs is typed by hand: figures sit in blocks that the bench and soak scripts
// rewrite between markers. bench/blocks.ts lists every block with its page and its writers; the
// markers must be there, once each, where the writers look for them.
import { join } from 'node:path';
import { GENERATED_BLOCKS, blockMarkers } from '../../bench/blocks.js';
import { ROOT, markdownPages, read, shown } from './markdown.js';

const count = (text: string, part: string): number => text.split(part).length - 1;
const pages = [...new Set(GENERATED_BLOCKS.map((block) => block.page))];
const blocksOf = (page: string) => GENERATED_BLOCKS.filter((block) => block.page === page);

/** A page with every generated block cut out: its prose. */
function prose(page: string): string {
  let text = read(join(ROOT, page));
  for (const { name } of blocksOf(page)) {
    const { start, end } = blockMarkers(name);
    text = text.slice(0, text.indexOf(start)) + text.slice(text.indexOf(end));
  }
  return text;
}

describe('generated blocks', () => {
  it('are on the user page (a summary) and in bench/README.md (everything else)', () => {
    expect(pages).toEqual(['docs/performance.md', 'bench/README.md']);
    expect(blocksOf('docs/performance.md').map((block) => block.name)).toEqual([
      'performance:summary',
    ]);
  });

  it.each(GENERATED_BLOCKS.map((block) => [block.name, block.page]))(
    '%s: one start marker, then one end marker on %s, with a table between them',
    (name, page) => {
      const text = read(join(ROOT, page));
      const { start, end } = blockMarkers(name);
      expect([count(text, start), count(text, end)]).toEqual([1, 1]);
      expect(text.indexOf(start)).toBeLessThan(text.indexOf(end));
      const content = text.slice(text.indexOf(start) + start.length, text.indexOf(end));
      expect(content).toMatch(/\n\| .* \|\n\| ---/);
    },
  );

  it.each(GENERATED_BLOCKS.flatMap((block) => block.writers.map((writer) => [block.name, writer])))(
    '%s is written by %s',
    (name, writer) => {
      const source = read(join(ROOT, writer));
      if (writer.endsWith('.mjs')) {
        // The soak script is plain JavaScript: it names its page and its markers itself.
        const { page } = GENERATED_BLOCKS.find((block) => block.name === name)!;
        expect(source).toContain(`new URL('../${page}', import.meta.url)`);
        expect(source).toContain(blockMarkers(name).start);
      } else {
        expect(source).toMatch(new RegExp(`writeGeneratedBlock\\(\\s*'${name}'`));
      }
    },
  );

  it('has no markers elsewhere: every block is one that bench/blocks.ts lists, on its page', () => {
    const stray = markdownPages().flatMap((file) =>
      [...read(file).matchAll(/<!-- ([\w:-]+):start -->/g)]
        .map((match) => ({ name: match[1]!, page: shown(file) }))
        .filter(
          ({ name, page }) => !GENERATED_BLOCKS.some((b) => b.name === name && b.page === page),
        ),
    );
    expect(stray).toEqual([]);
  });

  it('keeps the keysets figures beside their floors and jose', () => {
    const text = read(join(ROOT, 'bench/README.md'));
    const { start, end } = blockMarkers('bench:keysets');
    const content = text.slice(text.indexOf(start), text.indexOf(end));
    expect(content).toContain('ES256 fresh verify');
    expect(content).toContain('RS256 raw floor');
    expect(content).toContain('jose');
  });

  it.each(pages)(
    '%s types no measured figure in its prose, outside the generated blocks',
    (page) => {
      const figure = /\d[\d,.]*\s?(?:µs|us|ns|ms|MB|KB|req\/s|%|x\b)/g;
      expect(prose(page).match(figure) ?? []).toEqual([]);
      // The pattern does find the generated figures.
      expect(read(join(ROOT, page)).match(figure)?.length ?? 0).toBeGreaterThan(0);
    },
  );
});
