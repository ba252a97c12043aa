// docs/configuration.md's option table is the options the code declares, with their defaults: a
// renamed option, a new one or a changed default fails here until the page says so too.
import { join } from 'node:path';
import { APPROOV_OPTIONS } from '../../src/core/approov-config.js';
import type { OptionSchema } from '../../src/core/options/option-schema.js';
import { DOCS_DIR, read } from './markdown.js';

const PAGE = join(DOCS_DIR, 'configuration.md');

/** The rows of the table under `## Options`: option name, default column, meaning column. */
function optionRows(markdown: string): Map<string, { default: string; meaning: string }> {
  const section = markdown.slice(markdown.indexOf('## Options'));
  const table = section.slice(0, section.indexOf('\n## '));
  const rows = new Map<string, { default: string; meaning: string }>();
  for (const match of table.matchAll(/^\| `(\w+)` \| (.*?) \| (.*) \|$/gm)) {
    rows.set(match[1]!, { default: match[2]!, meaning: match[3]! });
  }
  return rows;
}

/** A default as the docs write it in code spans: 600, true, 'any', ['install']. */
function written(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(written).join(', ')}]`;
  return String(value);
}

const simpleDefault = (spec: OptionSchema[string]): unknown =>
  'default' in spec && spec.default !== undefined && spec.type !== 'custom'
    ? spec.default
    : undefined;

describe("docs/configuration.md's option table", () => {
  const rows = optionRows(read(PAGE));
  const schema: OptionSchema = APPROOV_OPTIONS;

  it('lists exactly the options the module accepts, in the order they are declared', () => {
    expect([...rows.keys()]).toEqual(Object.keys(schema));
  });

  it.each(Object.entries(schema).filter(([, spec]) => simpleDefault(spec) !== undefined))(
    'gives %s its default',
    (name, spec) => {
      const value = simpleDefault(spec);
      const shown = rows.get(name)?.default ?? '';
      // Numbers may be grouped for reading (10,000) or written plainly (10000).
      expect(shown.replace(/(\d),(\d)/g, '$1$2')).toContain(`\`${written(value)}\``);
    },
  );

  const groups = Object.entries(schema).flatMap(([group, spec]) =>
    spec.type === 'group'
      ? Object.entries(spec.options).map(([name, inner]) => [group, name, inner] as const)
      : [],
  );

  it.each(groups)('names %s.%s in its group row, with its default', (group, name, spec) => {
    const row = rows.get(group);
    const text = `${row?.default ?? ''} ${row?.meaning ?? ''}`;
    expect(text).toContain(`\`${name}\``);
    const value = simpleDefault(spec);
    if (value === undefined) return;
    // `name` (`default`...) in the meaning, or `name: default` in the default column's object.
    const inMeaning = text.includes(`\`${name}\` (\`${written(value)}\``);
    const inObject = (row?.default ?? '').includes(`${name}: ${written(value)}`);
    expect({ name, documented: inMeaning || inObject }).toEqual({ name, documented: true });
  });
});
