// docs/keysets.md's benchmark figures sit in the block bench/keysets.ts rewrites: the markers must be there for it.
import { join } from 'node:path';
import { ROOT, read } from './markdown.js';

const PAGE = join(ROOT, 'docs', 'keysets.md');
const WRITER = join(ROOT, 'bench', 'keysets.ts');
const START = '<!-- keysets-bench:start -->';
const END = '<!-- keysets-bench:end -->';

describe('the generated benchmark block of docs/keysets.md', () => {
  it('has one start marker, then one end marker, with a table between them', () => {
    const page = read(PAGE);
    expect([page.split(START).length - 1, page.split(END).length - 1]).toEqual([1, 1]);
    const content = page.slice(page.indexOf(START) + START.length, page.indexOf(END));
    expect(content).toMatch(/\n\| .* \|\n\| ---/);
    expect(content).toContain('ES256 fresh verify');
    expect(content).toContain('RS256 raw floor');
  });

  it('is the block bench/keysets.ts writes', () => {
    const writer = read(WRITER);
    expect(writer).toContain(`'${START}'`);
    expect(writer).toContain(`'${END}'`);
    expect(writer).toMatch(/join\(ROOT, 'docs', 'keysets\.md'\)/);
  });
});
