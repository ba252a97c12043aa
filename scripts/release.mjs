// npm run release: builds, checks (attw, publint), packs, and prints what would be published.
// It publishes nothing: `npm publish <tarball>` does, once the package has a registry name.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (command, args, options = {}) =>
  execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: 'inherit', ...options });

run('npm', ['run', 'build']);
const [packed] = JSON.parse(
  run('npm', ['pack', '--json', '--ignore-scripts'], { stdio: ['ignore', 'pipe', 'inherit'] }),
);
const tarball = join(root, packed.filename);
run(bin('attw'), [tarball]);
run(bin('publint'), ['run', tarball, '--strict']);
console.log(
  `\nwould publish ${packed.id}: ${packed.filename}, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files`,
);
for (const file of packed.files) console.log(`  ${String(file.size).padStart(7)}  ${file.path}`);
console.log(`\nchecked and packed; nothing published. To publish: npm publish ${packed.filename}`);
