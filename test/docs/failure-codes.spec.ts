// Every failure code a user can see in a log line or in onFailure is on the failures page, with the status it gets.
import { join } from 'node:path';
import { APPROOV_FAILURE_CODES } from '../../src/core/failure.js';
import { createApproovRejection } from '../../src/approov.rejection.js';
import { DOCS_DIR, read } from './markdown.js';

const PAGE = join(DOCS_DIR, 'failures-and-monitoring.md');

/** The status column of each row `| \`code\` | status | meaning |` of the page's code table. */
function documentedStatuses(markdown: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const match of markdown.matchAll(/^\| `([a-z_]+)` \| \**(\d{3})\** \|/gm)) {
    rows.set(match[1]!, Number(match[2]));
  }
  return rows;
}

describe('docs/failures-and-monitoring.md', () => {
  const rows = documentedStatuses(read(PAGE));

  it.each([...APPROOV_FAILURE_CODES])('lists %s with the status the module answers', (code) => {
    expect(rows.get(code)).toBe(createApproovRejection(code).getStatus());
  });

  it('keeps the codes in one sorted list, each <area>_<reason>, and the table in that order', () => {
    const codes = [...APPROOV_FAILURE_CODES];
    expect(codes).toEqual([...codes].sort());
    for (const code of codes) expect(code).toMatch(/^[a-z]+(?:_[a-z]+)+$/);
    expect([...rows.keys()]).toEqual(codes);
  });

  it('lists no code the module does not have', () => {
    const known: readonly string[] = APPROOV_FAILURE_CODES;
    expect([...rows.keys()].filter((code) => !known.includes(code))).toEqual([]);
  });
});
