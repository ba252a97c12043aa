import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// What `npm pack` would publish (after `npm run build`; `npm test` builds first): the built package,
// its licence, readme and changelog, and nothing else (no sources, tests, CLI typings, build info).
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function packedFiles(): string[] {
  const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`npm pack --dry-run failed: ${result.stderr}`);
  const [packed] = JSON.parse(result.stdout) as Array<{ files: Array<{ path: string }> }>;
  return packed!.files.map((file) => file.path).sort();
}

describe('the tarball', () => {
  const files = packedFiles();

  it('holds package.json, README.md, LICENSE and CHANGELOG.md, the rest under dist/', () => {
    expect(files.filter((path) => !path.startsWith('dist/'))).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'package.json',
    ]);
  });

  it('holds both entries of the main export, with their typings, and both builds of each subpath', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/index.mjs',
        'dist/index.d.mts',
        'dist/index.cjs',
        'dist/index.d.cts',
        'dist/cjs/package.json',
        'dist/esm/testing/index.js',
        'dist/cjs/testing/index.js',
        'dist/esm/terminus/index.js',
        'dist/cjs/terminus/index.d.ts',
        'dist/esm/throttler/index.js',
        'dist/cjs/throttler/index.d.ts',
        'dist/esm/swagger/index.js',
        'dist/cjs/swagger/index.js',
        'dist/esm/opentelemetry/index.js',
        'dist/cjs/opentelemetry/index.js',
        'dist/esm/cli/main.js',
      ]),
    );
  });

  it('holds only JavaScript, typings, source maps and the CommonJS marker under dist/', () => {
    const other = files.filter(
      (path) => path.startsWith('dist/') && !/\.(c|m)?js$|\.d\.(c|m)?ts$|\.js\.map$/.test(path),
    );
    expect(other).toEqual(['dist/cjs/package.json']);
  });

  it('holds no CLI typings, no CommonJS CLI, no build info, no sources or tests', () => {
    expect(
      files.filter((path) =>
        /^dist\/esm\/cli\/.*\.d\.ts$|^dist\/cjs\/cli\/|tsbuildinfo|^src\/|^test\//.test(path),
      ),
    ).toEqual([]);
  });
});
