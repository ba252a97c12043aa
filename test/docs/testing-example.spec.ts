// The examples that a test runs are the examples the docs show: docs/testing.md's e2e test and the
// README quickstart's controller are copied exactly into test/testing/readme-example.spec.ts.
import { join } from 'node:path';
import { ROOT, codeBlocks, read } from './markdown.js';

const SPEC = join(ROOT, 'test', 'testing', 'readme-example.spec.ts');
const MARKER = '// docs/testing.md example starts here\n';

/** The lines of `text` from the first one that starts with `start`, trailing blank lines dropped. */
function from(text: string, start: string): string {
  const index = text.indexOf(`\n${start}`);
  if (index === -1) throw new Error(`no line starting with ${start}`);
  return text.slice(index + 1).trimEnd();
}

describe('examples the docs show and a test runs', () => {
  const spec = read(SPEC);

  it("docs/testing.md's e2e example is the code that readme-example.spec.ts runs", () => {
    const example = codeBlocks(read(join(ROOT, 'docs', 'testing.md'))).find((block) =>
      block.text.includes("describe('an API protected by Approov'"),
    );
    expect(example).toBeDefined();
    expect(spec).toContain(MARKER);
    expect(from(`\n${example!.text}`, 'describe(')).toBe(
      spec.slice(spec.indexOf(MARKER) + MARKER.length).trimEnd(),
    );
  });

  it("the README quickstart's controller is the one readme-example.spec.ts serves", () => {
    const controller = codeBlocks(read(join(ROOT, 'README.md'))).find((block) =>
      block.text.startsWith('// shapes.controller.ts'),
    );
    expect(controller).toBeDefined();
    const shown = from(controller!.text, '@Controller()');
    expect(spec.slice(0, spec.indexOf(MARKER))).toContain(shown);
  });
});
