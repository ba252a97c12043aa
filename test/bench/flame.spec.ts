// bench/flame.ts turns a .cpuprofile into the call tree bench:profile prints and draws: merged,
// pruned and rendered from a profile small enough to check by hand.
import {
  flameSvg,
  mergeProfile,
  pruneTree,
  renderTree,
  type CpuProfile,
  type FlameFrame,
} from '../../bench/flame.js';

const frame = (
  id: number,
  functionName: string,
  url: string,
  lineNumber: number,
  children?: number[],
) => ({
  id,
  callFrame: { functionName, url, lineNumber },
  ...(children === undefined ? {} : { children }),
});

// main (lib.js:1) is two V8 nodes under the root, each calling work (lib.js:11); the first also calls
// hash, which calls digest, and a tiny helper. Times are microseconds per sample.
const PROFILE: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', -1, [2, 3, 4, 9]),
    frame(2, '(idle)', '', -1),
    frame(3, 'main', 'file:///app/node_modules/pkg/lib.js', 0, [5, 6, 7]),
    frame(4, 'main', 'file:///app/node_modules/pkg/lib.js', 0, [8]),
    frame(5, 'work', 'file:///app/node_modules/pkg/lib.js', 10),
    frame(6, 'hash', 'node:crypto', 169, [10]),
    frame(7, 'tiny', 'file:///app/dist/esm/tiny.js', 4),
    frame(8, 'work', 'file:///app/node_modules/pkg/lib.js', 10),
    frame(9, '(garbage collector)', '', -1),
    frame(10, 'digest', '', -1),
  ],
  samples: [2, 5, 8, 8, 10, 10, 7, 9, 3, 2],
  timeDeltas: [500, 100, 100, 100, 200, 100, 10, 50, 40, 500],
};

const shape = (node: FlameFrame): unknown => [node.name, node.time, node.children.map(shape)];

describe('the flame graph of bench:profile', () => {
  const tree = mergeProfile(PROFILE);

  it('merges siblings of the same function and file:line, leaves out idle time and sorts widest first', () => {
    expect(tree.time).toBe(700);
    expect(shape(tree)).toEqual([
      'all',
      700,
      [
        [
          'main',
          650,
          [
            ['work', 300, []],
            ['hash', 300, [['digest', 300, []]]],
            ['tiny', 10, []],
          ],
        ],
        ['(garbage collector)', 50, []],
      ],
    ]);
    const main = tree.children[0]!;
    expect([main.file, main.self, main.area]).toEqual(['pkg/lib.js:1', 40, 'pkg']);
    expect([main.children[2]!.file, main.children[2]!.area]).toEqual([
      'dist/esm/tiny.js:5',
      'nestjs-approov',
    ]);
  });

  it('prunes frames under the threshold and counts depth in forks, not frames', () => {
    expect(shape(pruneTree(tree, 100, 14))).toEqual([
      'all',
      700,
      [
        [
          'main',
          650,
          [
            ['work', 300, []],
            ['hash', 300, [['digest', 300, []]]],
          ],
        ],
      ],
    ]);
    // all -> main is a fork (main, gc); main -> work/hash the second: a cap of one cuts main's children.
    const capped = pruneTree(tree, 0, 1);
    expect(capped.children[0]!.children).toEqual([]);
    expect(capped.children[0]!.truncated).toBe(true);
    // hash -> digest is a chain, not a fork: a cap of two keeps it.
    expect(shape(pruneTree(tree, 100, 2).children[0]!.children[1]!)).toEqual([
      'hash',
      300,
      [['digest', 300, []]],
    ]);
  });

  it("prints one frame a line with its share, self share and us per request; a lone child stays at its parent's indent", () => {
    expect(renderTree(pruneTree(tree, 100, 14), 10).split('\n')).toEqual([
      ' share    self   us/req  frame',
      '100.0%    0.0%     70.0  all',
      ' 92.9%    5.7%     65.0  main pkg/lib.js:1',
      ' 42.9%   42.9%     30.0  ├ work pkg/lib.js:11',
      ' 42.9%    0.0%     30.0  └ hash node:crypto:170',
      ' 42.9%   42.9%     30.0    digest',
    ]);
    expect(renderTree(pruneTree(tree, 0, 1), 10)).toContain('main pkg/lib.js:1 …');
  });

  it('draws one titled rectangle per frame wide enough, as SVG text', () => {
    const svg = flameSvg(tree, 'fastify <test> & co', 10, 0.05);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('fastify &lt;test&gt; &amp; co');
    // all, main, work, hash, digest, gc: tiny (10 of 700) is under 5%.
    expect(svg.match(/<rect x=/g)).toHaveLength(6);
    expect(svg).toContain(
      '<title>hash node:crypto:170\n42.86% of busy time, 30.00 us/req (self 0.00%), node core</title>',
    );
    expect(svg).not.toContain('tiny');
  });
});
