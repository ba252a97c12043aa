// The docs stay navigable: every relative link lands on a file (and a heading), every page is reachable.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  DOCS_DIR,
  ROOT,
  docsPages,
  githubSlug,
  headingAnchors,
  linkTargets,
  markdownPages,
  read,
  shown,
} from './markdown.js';

const README = join(ROOT, 'README.md');
const README_MAX_BYTES = 12 * 1024;
/** A docs/ page holds what a Nest user does and sees, in one sitting; methods go to bench/README.md and design notes. */
const DOCS_PAGE_MAX_BYTES = 10 * 1024;
const CONTRIBUTING_MAX_BYTES = 6 * 1024;

interface BrokenLink {
  page: string;
  target: string;
  why: string;
}

/** Relative links of `page` that do not resolve: a missing file, or an anchor with no heading. */
function brokenLinks(page: string, markdown = read(page)): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check offline
    const hash = target.indexOf('#');
    const path = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const file = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
    if (!file.startsWith(ROOT) || !existsSync(file)) {
      broken.push({ page: shown(page), target, why: 'no such file' });
      continue;
    }
    if (anchor === undefined) continue;
    if (statSync(file).isDirectory() || !file.endsWith('.md')) {
      broken.push({
        page: shown(page),
        target,
        why: 'an anchor into something that is not a Markdown page',
      });
    } else if (!headingAnchors(file === page ? markdown : read(file)).has(anchor)) {
      broken.push({ page: shown(page), target, why: `no heading with anchor #${anchor}` });
    }
  }
  return broken;
}

describe('Markdown links', () => {
  it('finds the pages to check: README, SECURITY, CONTRIBUTING, bench/README and docs/', () => {
    const pages = markdownPages().map(shown);
    expect(pages).toEqual(
      expect.arrayContaining(['README.md', 'SECURITY.md', 'CONTRIBUTING.md', 'bench/README.md']),
    );
    expect(pages.filter((page) => page.startsWith('docs/')).length).toBeGreaterThan(0);
  });

  it.each(markdownPages().map((page) => [shown(page), page]))(
    '%s: every relative link resolves to a file, and every #anchor to a heading',
    (_name, page) => {
      expect(brokenLinks(page)).toEqual([]);
    },
  );

  it('reports a missing page and a missing heading, and ignores links written as code', () => {
    const page = join(DOCS_DIR, 'configuration.md');
    const markdown = [
      '# Here',
      'See [a](missing.md), [b](#nowhere), [c](performance.md#what-each-protection-costs), [d](../README.md), [e](#here),',
      '`[not a link](gone.md)` and [f](performance.md#no-such-heading).',
      '```md',
      '[in a code block](gone-too.md)',
      '```',
    ].join('\n');
    expect(brokenLinks(page, markdown).map((link) => link.target)).toEqual([
      'missing.md',
      '#nowhere',
      'performance.md#no-such-heading',
    ]);
  });
});

describe('GitHub heading anchors', () => {
  it.each([
    ['The CLI: `nestjs-approov`', 'the-cli-nestjs-approov'],
    ['The raw body (`rawBody: true`)', 'the-raw-body-rawbody-true'],
    [
      'The verified-token cache: what it does, and does not do',
      'the-verified-token-cache-what-it-does-and-does-not-do',
    ],
    ["Passport: `AuthGuard('approov')`", 'passport-authguardapproov'],
    ['Testing your app: `nestjs-approov/testing`', 'testing-your-app-nestjs-approovtesting'],
  ])('%s -> #%s', (heading, anchor) => {
    expect(githubSlug(heading)).toBe(anchor);
  });

  it('numbers repeated headings as GitHub does', () => {
    expect([...headingAnchors('# Options\n\n## Options\n\n```\n# not a heading\n```\n')]).toEqual([
      'options',
      'options-1',
    ]);
  });
});

describe('page sizes', () => {
  it.each(docsPages().map((page) => [shown(page), page]))(
    `%s stays within ${DOCS_PAGE_MAX_BYTES / 1024} KB`,
    (_name, page) => {
      expect(Buffer.byteLength(read(page))).toBeLessThanOrEqual(DOCS_PAGE_MAX_BYTES);
    },
  );

  it(`CONTRIBUTING.md stays within ${CONTRIBUTING_MAX_BYTES / 1024} KB`, () => {
    expect(Buffer.byteLength(read(join(ROOT, 'CONTRIBUTING.md')))).toBeLessThanOrEqual(
      CONTRIBUTING_MAX_BYTES,
    );
  });
});

describe('the README as the front door', () => {
  it(`stays within ${README_MAX_BYTES / 1024} KB`, () => {
    expect(Buffer.byteLength(read(README))).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it('links every docs/ page', () => {
    const linked = new Set(
      linkTargets(read(README))
        .map((target) => target.split('#')[0]!)
        .filter((path) => path !== '')
        .map((path) => resolve(ROOT, path)),
    );
    const unlinked = docsPages()
      .filter((page) => !linked.has(page))
      .map(shown);
    expect(unlinked).toEqual([]);
  });

  it('links SECURITY.md and CONTRIBUTING.md', () => {
    const targets = linkTargets(read(README));
    expect(targets).toEqual(expect.arrayContaining(['SECURITY.md', 'CONTRIBUTING.md']));
  });
});
