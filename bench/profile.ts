// `npm run bench:profile -- <express|fastify> <variant> [seconds]`: one bench server with the V8
// CPU profiler on during the measured load only (start-up excluded), loaded by the same load process as `npm run bench`, then the
// profile summarised as self time per function and per area, and as its call tree (a flame graph as text).
// Variants: those of `npm run bench` (variants.ts), the floors included. CPU time, unlike req/s, stays meaningful on a
// shared machine: read the shares, not the rates.
// Environment: PROFILE_TOP (rows of the self-time table), PROFILE_TREE_MIN (the call tree's
// threshold, in % of busy time), PROFILE_TREE_DEPTH (its cap, in levels of branching),
// PROFILE_SVG=file.svg (also draw the tree as an SVG flame graph), PROFILE_KEEP=file (keep the .cpuprofile).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApproovSecret } from 'nestjs-approov/testing';
import { ROOT, serverPort, textTable } from './common.js';
import {
  areaOf,
  flameSvg,
  frameLabel,
  mergeProfile,
  pruneTree,
  renderTree,
  shortFile,
  type CpuProfile,
  type ProfileNode,
} from './flame.js';
import type { LoadSpec } from './load.js';
import { VARIANTS, loadSpec, prepareTokens, serverEnv, variantById } from './variants.js';

// Functions whose inclusive time (self plus everything they call) is worth seeing per request.
const INCLUSIVE = [
  'canActivate',
  'authenticate',
  'verifyRequest',
  'verifyToken',
  'verifyApproovToken',
  'verifyJws',
  'hmacSha256Matches',
  'parseJsonObject',
  'deepFreeze',
  'set',
  'readSingleHeader',
  'reportFailure',
  'handleFailure',
  'approovUnauthorized',
  'tryActivate',
  'handleError',
  'catch',
  'next',
  'warn',
  'verifyMessageSignature',
  'verify',
  'buildSignatureBase',
  'parseMessageSignature',
  'parseDictionaryOnce',
  'requestComponentResolver',
  'verifySignatureBase',
  'parseInstallationKey',
  'countDictionaryMembers',
];

/** Time under each named function, counted once per sample even when it recurses. */
function inclusive(profile: CpuProfile): Map<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)!.callFrame.functionName;
      if (INCLUSIVE.includes(name) && !seen.has(name)) {
        seen.add(name);
        totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
      }
    }
  }
  return totals;
}

function summarise(profile: CpuProfile, top: number, requests: number): string {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(
      profile.samples[i]!,
      (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0),
    );
  }
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += time;
    const key = frameLabel({
      name: functionName || '(anonymous)',
      file: shortFile(url, lineNumber),
    });
    byFunction.set(key, (byFunction.get(key) ?? 0) + time);
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + time);
  }
  const rows = (map: Map<string, number>, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, time]) => [
        name,
        `${((100 * time) / total).toFixed(1)}%`,
        (time / 1000).toFixed(0),
      ]);
  const perRequest = (time: number): string => (time / requests).toFixed(1);
  const inclusiveRows = [...inclusive(profile)]
    .sort((a, b) => b[1] - a[1])
    .map(([name, time]) => [name, `${((100 * time) / total).toFixed(1)}%`, perRequest(time)]);
  return (
    `busy time sampled: ${(total / 1000).toFixed(0)} ms over ${requests} requests = ${perRequest(total)} us/request\n\n` +
    `${textTable(['Function (inclusive)', 'share', 'us/req'], inclusiveRows)}\n\n` +
    `${textTable(['Area (self time)', 'share', 'ms'], rows(byArea, 12))}\n\n` +
    `${textTable(['Function (self time)', 'share', 'ms'], rows(byFunction, top))}`
  );
}

/** The call tree to print after the tables; also written as an SVG flame graph when PROFILE_SVG names a file. */
function flameViews(profile: CpuProfile, requests: number, heading: string): string {
  const tree = mergeProfile(profile);
  const minShare = Number.parseFloat(process.env.PROFILE_TREE_MIN ?? '1.5');
  const maxForks = Number(process.env.PROFILE_TREE_DEPTH ?? '14');
  const svgFile = process.env.PROFILE_SVG;
  if (svgFile !== undefined && svgFile !== '')
    writeFileSync(svgFile, flameSvg(tree, heading, requests));
  const pruned = pruneTree(tree, (minShare / 100) * tree.time, maxForks);
  return `Call tree (inclusive; frames from ${minShare}% of busy time; at most ${maxForks} levels of branching)\n${renderTree(pruned, requests)}`;
}

function runLoad(spec: LoadSpec, onMeasuring: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bench/dist/load.js'), JSON.stringify(spec)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (!out.includes('measuring') && (out + chunk.toString()).includes('measuring'))
        onMeasuring();
      out += chunk.toString();
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`load exited with ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const [platform = 'fastify', id = 'rotating', seconds = '5'] = process.argv.slice(2);
  const variant = variantById(id);
  if (variant === undefined || (platform !== 'express' && platform !== 'fastify')) {
    throw new Error(
      `usage: profile.js <express|fastify> <${VARIANTS.map((v) => v.id).join('|')}> [seconds]`,
    );
  }
  const secret = createApproovSecret();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-approov-profile-'));
  try {
    const server = spawn(
      process.execPath,
      [join(ROOT, 'bench/dist/server.js'), platform, variant.server],
      {
        env: {
          ...serverEnv(variant, secret),
          BENCH_PROFILE_FILE: join(dir, 'server.cpuprofile'),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const port = await serverPort(server);
    const spec = loadSpec(variant, port, prepareTokens(secret, dir), {
      connections: 10,
      warmupSec: 1,
      durationSec: Number(seconds),
    });
    const result = JSON.parse(
      (await runLoad(spec, () => server.kill('SIGUSR2'))).trim().split('\n').pop()!,
    ) as { requestsPerSec: number; total: number };
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
    const profile = JSON.parse(readFileSync(join(dir, 'server.cpuprofile'), 'utf8')) as CpuProfile;
    const heading = `${platform} ${id}: ${Math.round(result.requestsPerSec)} req/s (under whatever else runs)`;
    const tables = summarise(profile, Number(process.env.PROFILE_TOP ?? 25), result.total);
    process.stdout.write(
      `${heading}\n${tables}\n\n${flameViews(profile, result.total, heading)}\n`,
    );
    if (process.env.PROFILE_KEEP !== undefined)
      writeFileSync(process.env.PROFILE_KEEP, JSON.stringify(profile));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`profile failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
