import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { INTEGRATION_PATTERNS } from '../../jest.config.js';

// `npm run test:unit` must pass with no build and no service: no suite of the unit set may reach,
// through the files it imports, a Redis or NATS client, the sample-app launcher or a built file.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEST = join(ROOT, 'test');

const IMPORTS = [
  { what: 'Redis', path: /^(ioredis|redis)$|^test\/support\/redis[\w-]*\.ts$/ },
  { what: 'NATS', path: /^@nats-io\// },
  { what: 'the built sample app', path: /^scripts\/sample-app\.mjs$/ },
  { what: 'a build', path: /(^|\/)dist\// },
];
// How a suite reaches built files without importing them: a path into dist/, `npm pack`, the
// package's bin, or a script of scripts/ (they run on the built package).
const BUILT = [
  /['"`]((\.\.?\/)+(sample-app\/)?dist[/'"`]|(sample-app\/)?dist['"`])/,
  /['"`]pack['"`]/,
  /\.bin\[/,
  /['"`](\.\.?\/)*scripts\/[\w-]+\.mjs['"`]/,
];

const integration = INTEGRATION_PATTERNS.map((pattern) => new RegExp(pattern));
const isIntegration = (file: string): boolean =>
  integration.some((pattern) => pattern.test(join(ROOT, file)));

const specs = readdirSync(TEST, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.spec.ts'))
  .map((name) => `test/${name}`)
  .sort();

/** Root-relative paths (or bare package names) that `file` imports, type-only imports included. */
function importsOf(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true)
    .importedFiles.map(({ fileName }) => {
      if (!fileName.startsWith('.')) return fileName;
      const path = relative(ROOT, resolve(ROOT, dirname(file), fileName));
      const asTs = path.replace(/\.js$/, '.ts');
      return asTs !== path && existsSync(join(ROOT, asTs)) ? asTs : path;
    });
}

/** Why `spec` needs more than the unit set offers, following its imports through test/. */
function needsOf(spec: string): string[] {
  const found = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const pattern of BUILT) {
      const match = pattern.exec(text);
      if (match !== null) found.add(`a build (${file} has ${match[0]})`);
    }
    for (const imported of importsOf(file)) {
      for (const need of IMPORTS)
        if (need.path.test(imported)) found.add(`${need.what} (${file} imports ${imported})`);
      if (imported.startsWith('test/') && imported.endsWith('.ts')) visit(imported);
    }
  };
  visit(spec);
  return [...found];
}

describe('the unit and integration test sets', () => {
  const unit = specs.filter((spec) => !isIntegration(spec));

  it('split every suite, most of them into the unit set', () => {
    expect(unit.length).toBeGreaterThan(specs.length / 2);
    expect(specs.filter(isIntegration)).toEqual(
      expect.arrayContaining([
        'test/core/replay/redis-replay-store.spec.ts',
        'test/demo/demo.spec.ts',
        'test/package/tarball.spec.ts',
        'test/sample-app/sample-app.spec.ts',
      ]),
    );
  });

  it('tell a suite that needs Redis or a build when they see one', () => {
    expect(needsOf('test/core/replay/redis-replay-store.spec.ts')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Redis/)]),
    );
    expect(needsOf('test/nest/replay-redis.e2e.spec.ts')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Redis \(test\/support\/redis\.ts/)]),
    );
    expect(needsOf('test/sample-app/sample-app.spec.ts')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^the built sample app/)]),
    );
    for (const spec of [
      'test/package/tarball.spec.ts',
      'test/package/package-manifest.spec.ts',
      'test/cli/cli.spec.ts',
      'test/demo/demo.spec.ts',
    ])
      expect(needsOf(spec)).toEqual(expect.arrayContaining([expect.stringMatching(/^a build/)]));
  });

  it('keep every suite that needs Redis or a build out of the unit set', () => {
    const misplaced = unit
      .map((spec) => ({ spec, needs: needsOf(spec) }))
      .filter(({ needs }) => needs.length > 0);
    expect(misplaced).toEqual([]);
  });
});
