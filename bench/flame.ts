// A CPU profile as a flame graph, computed from the .cpuprofile itself: the call tree merged by
// (function, file:line), printed as an indented text tree and drawn as a self-contained SVG.
// Pure functions of the profile, with no imports, so a unit test can feed them a tiny profile.

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One merged frame: every profile node with the same function and file:line under the same merged parent. */
export interface FlameFrame {
  name: string;
  /** The short file:line (see shortFile), '' for V8's own entries and native code. */
  file: string;
  area: string;
  /** Microseconds sampled in this frame itself and in everything under it. */
  self: number;
  time: number;
  /** Widest first. */
  children: FlameFrame[];
  /** Set by pruneTree when the depth cap cut this frame's children. */
  truncated?: boolean;
}

/** Where a frame's code lives: the package under node_modules, this package, Node itself, or V8. */
export function areaOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/bench/dist/')) return 'bench app';
  if (url.includes('/dist/')) return 'nestjs-approov';
  return url;
}

/** A file as the tables show it: the path under node_modules, dist/... for built code, node:... for Node; with its 1-based line. */
export function shortFile(url: string, lineNumber: number): string {
  if (url === '') return '';
  return `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`;
}

export const frameLabel = (frame: { name: string; file: string }): string =>
  frame.file === '' ? frame.name : `${frame.name} ${frame.file}`;

/** The profile's call tree, siblings of the same function and file:line merged, (idle) left out: the root's time is the busy time. */
export function mergeProfile(profile: CpuProfile): FlameFrame {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const root: FlameFrame = {
    name: 'all',
    file: '',
    area: '(root)',
    self: 0,
    time: 0,
    children: [],
  };
  const add = (into: FlameFrame, node: ProfileNode): void => {
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') return;
    const name = functionName || '(anonymous)';
    const file = shortFile(url, lineNumber);
    let frame = into.children.find((child) => child.name === name && child.file === file);
    if (frame === undefined) {
      frame = { name, file, area: areaOf(url, name), self: 0, time: 0, children: [] };
      into.children.push(frame);
    }
    frame.self += self.get(node.id) ?? 0;
    for (const id of node.children ?? []) add(frame, byId.get(id)!);
  };
  // V8's (root) node becomes the merged root itself, so its children are the top-level frames.
  for (const top of profile.nodes.filter((node) => !childIds.has(node.id))) {
    root.self += self.get(top.id) ?? 0;
    for (const id of top.children ?? []) add(root, byId.get(id)!);
  }
  total(root);
  return root;
}

/** Fills in each frame's inclusive time and sorts its children widest first. */
function total(frame: FlameFrame): number {
  frame.time = frame.self + frame.children.reduce((sum, child) => sum + total(child), 0);
  frame.children.sort((a, b) => b.time - a.time);
  return frame.time;
}

/**
 * The tree without frames under minTime, and cut after maxForks levels of branching. Depth counts
 * forks, not frames: a Nest request runs forty frames deep through hooks and interceptors that each
 * call one thing, and a cap on frames would stop the tree before the guard.
 */
export function pruneTree(
  frame: FlameFrame,
  minTime: number,
  maxForks: number,
  forks = 0,
): FlameFrame {
  const kept = frame.children.filter((child) => child.time >= minTime);
  const depth = kept.length > 1 ? forks + 1 : forks;
  if (depth > maxForks) return { ...frame, children: [], truncated: true };
  return { ...frame, children: kept.map((child) => pruneTree(child, minTime, maxForks, depth)) };
}

/**
 * The tree as text, one frame a line with its share of the busy time, the share spent in the frame
 * itself (the rest of a frame its listed children do not cover is in children under the threshold)
 * and microseconds per request. As in `perf report`, a frame's only child continues on the next line at the same indent; ├ and └
 * open the branches where a frame calls several; … marks a frame whose children the depth cap cut.
 */
export function renderTree(root: FlameFrame, requests: number): string {
  const percent = (time: number): string => `${((100 * time) / root.time).toFixed(1)}%`.padStart(6);
  const lines = [`${'share'.padStart(6)}  ${'self'.padStart(6)}  ${'us/req'.padStart(7)}  frame`];
  const visit = (frame: FlameFrame, head: string, rest: string): void => {
    const us = (frame.time / requests).toFixed(1).padStart(7);
    lines.push(
      `${percent(frame.time)}  ${percent(frame.self)}  ${us}  ${head}${frameLabel(frame)}${frame.truncated === true ? ' …' : ''}`,
    );
    if (frame.children.length === 1) return visit(frame.children[0]!, rest, rest);
    frame.children.forEach((child, i) => {
      const last = i === frame.children.length - 1;
      visit(child, rest + (last ? '└ ' : '├ '), rest + (last ? '  ' : '│ '));
    });
  };
  visit(root, '', '');
  return lines.join('\n');
}

const SVG_WIDTH = 1200;
const ROW = 16;
const HEADER = 40;
const CHAR_WIDTH = 6.6; // 11px monospace

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** This package green, the bench app blue, V8's own entries grey, every other area its own warm hue. */
function colourOf(area: string): string {
  if (area === 'nestjs-approov') return 'hsl(130,50%,62%)';
  if (area === 'bench app') return 'hsl(205,55%,70%)';
  if (area.startsWith('(')) return 'hsl(0,0%,78%)';
  let hash = 0;
  for (const char of area) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${10 + (hash % 45)},80%,${62 + (hash % 12)}%)`;
}

/**
 * An icicle graph (root on top, callees below) of the merged tree: x is the share of the busy time,
 * one rectangle per frame of at least minShare (a fraction) of it, labelled when wide enough, with a
 * <title> giving the full name, file:line, share and microseconds per request on hover.
 */
export function flameSvg(
  root: FlameFrame,
  heading: string,
  requests: number,
  minShare = 0.002,
): string {
  const cells: string[] = [];
  let rows = 0;
  const visit = (frame: FlameFrame, start: number, depth: number): void => {
    if (frame.time < minShare * root.time) return;
    rows = Math.max(rows, depth + 1);
    const x = (start / root.time) * SVG_WIDTH;
    const width = (frame.time / root.time) * SVG_WIDTH;
    const y = HEADER + depth * ROW;
    const label = frameLabel(frame);
    const share = (100 * frame.time) / root.time;
    const hover = `${label}\n${share.toFixed(2)}% of busy time, ${(frame.time / requests).toFixed(2)} us/req (self ${((100 * frame.self) / root.time).toFixed(2)}%), ${frame.area}`;
    const fits = Math.floor((width - 6) / CHAR_WIDTH);
    const text =
      fits < 3 ? '' : frame.name.length <= fits ? frame.name : `${frame.name.slice(0, fits - 1)}…`;
    cells.push(
      `<g><title>${escapeXml(hover)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(width - 0.5, 0.5).toFixed(2)}" height="${ROW - 1}" fill="${colourOf(frame.area)}" rx="1"/>` +
        (text === ''
          ? ''
          : `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 4}">${escapeXml(text)}</text>`) +
        '</g>',
    );
    let childStart = start;
    for (const child of frame.children) {
      visit(child, childStart, depth + 1);
      childStart += child.time;
    }
  };
  visit(root, 0, 0);
  const height = HEADER + rows * ROW + 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${height}" viewBox="0 0 ${SVG_WIDTH} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdf8"/>`,
    `<text x="4" y="16" font-size="13">${escapeXml(heading)}</text>`,
    `<text x="4" y="32">width: share of busy time (idle left out); green: nestjs-approov, blue: bench app, grey: V8 and native code; hover a frame for its file, share and us/req</text>`,
    ...cells,
    '</svg>',
    '',
  ].join('\n');
}
