import { fileURLToPath } from 'node:url';
import { importCycles, importGraph } from './import-graph.js';

// No import cycle in src/, type-only imports included: a cycle is how the Nest layer once tangled
// (approov.service.ts <-> approov-message-signing.ts through a request type).
const SRC = fileURLToPath(new URL('../../src', import.meta.url));

describe('the import graph of src/', () => {
  const graph = importGraph(SRC);

  it('reads every source file and its relative imports', () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.get('approov.guard.ts')).toEqual(
      expect.arrayContaining(['approov.service.ts', 'core/http/request.ts']),
    );
    expect(graph.get('core/token/verifier.ts')).toEqual(
      expect.arrayContaining(['core/http/request-headers.ts']),
    );
  });

  it('has no cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe('importCycles', () => {
  it('finds the cycle the Nest layer had, type imports counted', () => {
    const tangled = new Map([
      ['approov.guard.ts', ['approov.service.ts']],
      ['approov.service.ts', ['approov-message-signing.ts']],
      ['approov-message-signing.ts', ['approov.service.ts', 'core/verify.ts']],
      ['core/verify.ts', []],
    ]);
    expect(importCycles(tangled)).toEqual([
      ['approov-message-signing.ts', 'approov.service.ts', 'approov-message-signing.ts'],
    ]);
  });

  it('finds a longer cycle and ignores a diamond', () => {
    const graph = new Map([
      ['a.ts', ['b.ts', 'c.ts']],
      ['b.ts', ['d.ts']],
      ['c.ts', ['d.ts']],
      ['d.ts', ['e.ts']],
      ['e.ts', ['f.ts']],
      ['f.ts', ['d.ts']],
    ]);
    expect(importCycles(graph)).toEqual([['d.ts', 'e.ts', 'f.ts', 'd.ts']]);
  });
});
