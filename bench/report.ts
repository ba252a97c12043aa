// The tables of `npm run bench`'s HTTP part: req/s and p99 against the no-op guard, server CPU per
// request, and the short summary for users on docs/performance.md.
import { markdownTable } from './common.js';
import type { HttpRow } from './rounds.js';
import { PLATFORMS, type Platform } from './variants.js';

export interface Table {
  head: string[];
  cells: string[][];
}

const platformName = (platform: Platform): string =>
  platform === 'express' ? 'Express' : 'Fastify';
const int = (value: number): string => Math.round(value).toLocaleString('en');
const share = (value: number): string => `${Math.round(value * 100)}%`;
const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
const noopOf = (rows: readonly HttpRow[]) => rows.find((row) => row.variant.id === 'noop')?.medians;

export function httpTable(rows: readonly HttpRow[]): Table {
  const noop = noopOf(rows);
  const head = ['Variant'];
  for (const platform of PLATFORMS) {
    const name = platformName(platform);
    head.push(`${name} req/s`, 'vs no-op', `${name} p99 ms`, 'vs no-op');
  }
  const cells = rows.map((row) => {
    const line = [row.variant.label];
    for (const platform of PLATFORMS) {
      const sample = row.medians[platform];
      const base = noop?.[platform];
      line.push(
        int(sample.requestsPerSec),
        base === undefined ? '-' : share(sample.requestsPerSec / base.requestsPerSec),
        sample.p99Ms.toFixed(0),
        base === undefined || base.p99Ms === 0 ? '-' : `${(sample.p99Ms / base.p99Ms).toFixed(2)}x`,
      );
    }
    return line;
  });
  return { head, cells };
}

/** Server CPU time per request: steadier than req/s on a shared machine, and it gives each guard's cost in microseconds. */
export function cpuTable(rows: readonly HttpRow[]): Table {
  const noop = noopOf(rows);
  const head = ['Variant'];
  for (const platform of PLATFORMS)
    head.push(`${platformName(platform)} server CPU us/req`, 'minus no-op');
  const cells = rows.map((row) => {
    const line = [row.variant.label];
    for (const platform of PLATFORMS) {
      const cpu = row.medians[platform].cpuUsPerRequest;
      const base = noop?.[platform].cpuUsPerRequest;
      line.push(cpu.toFixed(1), base === undefined ? '-' : signed(cpu - base));
    }
    return line;
  });
  return { head, cells };
}

/** The rows a Nest user chooses between, named as a user knows them; floors and peers stay in bench/README.md. */
const SUMMARY: ReadonlyArray<readonly [id: string, label: string]> = [
  ['repeated', '`ApproovGuard`, a token seen before (the usual case: the SDK reuses its token)'],
  ['rotating', '`ApproovGuard`, a token never seen before (full verify, then cached)'],
  ['bound', '`@ApproovBinding()`, a token seen before'],
  ['passport', "`AuthGuard('approov')`, a token seen before"],
  ['forged-logged', 'a flood of forged tokens, each rejected (401), reject log on'],
  ['signed', '`@ApproovMessageSigning()`, a signed GET'],
];

/** The user summary: per protection, the server CPU time it adds to a request, in microseconds. */
export function summaryBlock(rows: readonly HttpRow[], when: string): string {
  const noop = noopOf(rows);
  const head = ['Protection', ...PLATFORMS.map((p) => `${platformName(p)}: server CPU added`)];
  const cells: string[][] = [];
  for (const [id, label] of SUMMARY) {
    const row = rows.find((candidate) => candidate.variant.id === id);
    if (row === undefined) continue;
    const line = [label];
    for (const platform of PLATFORMS) {
      const base = noop?.[platform].cpuUsPerRequest;
      const cpu = row.medians[platform].cpuUsPerRequest;
      line.push(base === undefined ? '-' : `${signed(cpu - base)} us`);
    }
    cells.push(line);
  }
  return (
    `From \`npm run bench\`, ${when}: the server's CPU time per request beyond the same app with a guard that does nothing, ` +
    `medians of interleaved runs of a small JSON route on loopback.\n\n${markdownTable(head, cells)}`
  );
}
