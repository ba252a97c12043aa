// Reading the repository's Markdown the way GitHub renders it: pages, links, heading anchors, code blocks.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DOCS_DIR = join(ROOT, 'docs');

/** Every page the docs tests hold to account: the front door, the policy files, the benchmarks' page and docs/*.md. */
export function markdownPages(): string[] {
  const top = ['README.md', 'SECURITY.md', 'CONTRIBUTING.md', 'bench/README.md'].map((name) =>
    join(ROOT, name),
  );
  return [...top.filter((file) => existsSync(file)), ...docsPages()];
}

export function docsPages(): string[] {
  return readdirSync(DOCS_DIR)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join(DOCS_DIR, name));
}

export const read = (file: string): string => readFileSync(file, 'utf8');
export const shown = (file: string): string => relative(ROOT, file);

export interface CodeBlock {
  language: string;
  text: string;
}

/** Fenced code blocks (``` or ~~~), with their info string's first word. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.trimStart().startsWith(fence); i++)
      body.push(lines[i]!);
    blocks.push({ language: open[2]!.toLowerCase(), text: body.join('\n') });
  }
  return blocks;
}

/** The text outside fenced code blocks and inline code spans, where links and headings live. */
function prose(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && marker !== undefined) fence = marker;
    else if (fence !== null && marker !== undefined && line.trimStart().startsWith(fence))
      fence = null;
    else if (fence === null) lines.push(line);
  }
  return lines;
}

/** Inline link targets `[text](target)`, inline code spans excluded. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of prose(markdown)) {
    const withoutCode = line.replace(/`[^`]*`/g, '``');
    for (const match of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) targets.push(match[1]!);
  }
  return targets;
}

/** GitHub's heading anchors: lower-case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const slug = githubSlug(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

export function githubSlug(headingText: string): string {
  const text = headingText
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link reads as its text
    .replace(/[`*]/g, ''); // code spans and emphasis keep their text
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
