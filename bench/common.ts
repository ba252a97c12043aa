// Shared by the benchmark scripts: realistic tokens, medians, tables, and the writer of the generated blocks.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApproovToken } from 'nestjs-approov/testing';
import { GENERATED_BLOCKS, blockMarkers, type GeneratedBlockName } from './blocks.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The value bound routes hash: a typical bearer token in the Authorization header. */
export const BOUND_AUTHORIZATION = `Bearer ${randomBytes(96).toString('base64url')}`;

/** A token shaped like the Approov cloud's: exp, ip, did (and pay when bound). */
export function benchToken(
  secret: string,
  index: number,
  options: { bind?: string; lifetimeSec?: number } = {},
): string {
  return createApproovToken({
    secret,
    expiresIn: options.lifetimeSec ?? 3600,
    claims: { ip: '203.0.113.7', did: `ExampleDevice${String(index).padStart(10, '0')}==` },
    ...(options.bind !== undefined ? { bind: options.bind } : {}),
  });
}

/** Same header and payload, signature replaced by random bytes: a forged token. */
export function withForgedSignature(token: string): string {
  return token.slice(0, token.lastIndexOf('.') + 1) + randomBytes(32).toString('base64url');
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A fixed-width rendering of the same table for the terminal. */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function machineDescription(): string {
  const cores = cpus();
  return `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores, Node ${process.version}, ${process.platform}`;
}

export const loadAverage = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** `taskset` when it exists and there are two CPUs to separate, else null (no pinning). */
export function tasksetPath(): string | null {
  if (cpus().length < 2) return null;
  for (const candidate of ['/usr/bin/taskset', '/bin/taskset'])
    if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('which', ['taskset'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Resolves with the port a bench server prints as a `{"port":N}` line on stdout (Nest's own
 * logger may print before it), then keeps draining its stdout so a logging server never blocks.
 */
export function serverPort(child: ChildProcess, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the bench server did not print its port'));
    }, timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`the bench server exited with ${code}`));
    };
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const match = /^\{"port":(\d+)\}$/m.exec(out);
      if (match === null) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // flowing with no listener: log lines are read and dropped
      resolve(Number(match[1]));
    };
    child.on('exit', onExit);
    child.stdout!.on('data', onData);
  });
}

/**
 * Replaces one generated block, between its own markers on the page GENERATED_BLOCKS names for it,
 * and leaves the rest of the page as it was. A page without the markers is an error: the docs
 * tests keep them in place, and a script that wrote elsewhere would leave a stale figure behind.
 */
export function writeGeneratedBlock(name: GeneratedBlockName, content: string): void {
  const block = GENERATED_BLOCKS.find((candidate) => candidate.name === name)!;
  const page = join(ROOT, block.page);
  const { start, end } = blockMarkers(name);
  const text = readFileSync(page, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`${block.page} has no ${start} ... ${end} block`);
  writeFileSync(
    page,
    `${text.slice(0, from + start.length)}\n${content.trim()}\n${text.slice(to)}`,
  );
  process.stderr.write(`wrote the ${name} block of ${block.page}\n`);
}
