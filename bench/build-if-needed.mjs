// Builds the package (dist/) and the benchmarks (bench/dist/) when a source is newer than its output.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(dir, accept) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'dist' && entry.name !== 'node_modules')
        newest = Math.max(newest, newestMtime(path, accept));
    } else if (accept(entry.name)) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function buildWhenStale(label, sourceDir, output, args) {
  const outputTime = existsSync(output) ? statSync(output).mtimeMs : 0;
  if (
    newestMtime(sourceDir, (name) => name.endsWith('.ts') || name.endsWith('.json')) <= outputTime
  )
    return;
  process.stderr.write(`building ${label}...\n`);
  execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
}

// The package's whole build (both module formats, then the entries such as dist/index.mjs).
buildWhenStale('the package', join(root, 'src'), join(root, 'dist/index.mjs'), [
  join(root, 'scripts/build.mjs'),
]);
const tsc = join(root, 'node_modules/typescript/bin/tsc');
buildWhenStale('the benchmarks', join(root, 'bench'), join(root, 'bench/dist/.tsbuildinfo'), [
  tsc,
  '-p',
  'bench/tsconfig.json',
]);
