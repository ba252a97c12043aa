// Every generated block of the docs: the page it lives on and the script that rewrites it. The
// scripts write only between a block's markers; test/docs/generated-blocks.spec.ts holds this
// list, the pages and the writers to each other. Paths are from the repository's root.

export interface GeneratedBlock {
  /** The name in its markers: `<!-- name:start -->` ... `<!-- name:end -->`. */
  name: string;
  page: string;
  /** The scripts that rewrite it. */
  writers: readonly string[];
}

export const GENERATED_BLOCKS = [
  { name: 'performance:summary', page: 'docs/performance.md', writers: ['bench/run.ts'] },
  { name: 'bench:http', page: 'bench/README.md', writers: ['bench/run.ts'] },
  { name: 'bench:micro', page: 'bench/README.md', writers: ['bench/micro.ts', 'bench/run.ts'] },
  { name: 'bench:memory', page: 'bench/README.md', writers: ['bench/memory.ts', 'bench/run.ts'] },
  { name: 'bench:signing', page: 'bench/README.md', writers: ['bench/signing.ts'] },
  { name: 'bench:replay', page: 'bench/README.md', writers: ['bench/replay.ts'] },
  { name: 'bench:keysets', page: 'bench/README.md', writers: ['bench/keysets.ts'] },
  { name: 'bench:observe', page: 'bench/README.md', writers: ['bench/observe.ts'] },
  { name: 'soak', page: 'bench/README.md', writers: ['scripts/soak.mjs'] },
] as const satisfies readonly GeneratedBlock[];

export type GeneratedBlockName = (typeof GENERATED_BLOCKS)[number]['name'];

export const blockMarkers = (name: string): { start: string; end: string } => ({
  start: `<!-- ${name}:start -->`,
  end: `<!-- ${name}:end -->`,
});
