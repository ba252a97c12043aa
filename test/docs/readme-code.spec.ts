// The README's TypeScript is a small app (quickstart + its test): it must type-check against src/,
// under the repository's compiler options (isolatedModules and emitDecoratorMetadata included).
import { join } from 'node:path';
import { ROOT, codeBlocks, read } from './markdown.js';
import { compilerOptions, filesOf, typeCheck } from './type-check.js';

/** Where the README's files pretend to live: next to the repository's package.json ("type": "module"). */
const APP_DIR = join(ROOT, 'readme-app');

describe("the README's TypeScript", () => {
  const files = filesOf(codeBlocks(read(join(ROOT, 'README.md'))), APP_DIR);

  it('is the quickstart app and its test, each block naming its file', () => {
    expect([...files.keys()].map((file) => file.slice(APP_DIR.length + 1)).sort()).toEqual(
      expect.arrayContaining(['app.module.ts', 'main.ts', 'shapes.controller.ts']),
    );
  });

  it('compiles against src/ with the repository tsconfig (isolatedModules, emitDecoratorMetadata)', () => {
    expect(compilerOptions.isolatedModules).toBe(true);
    expect(compilerOptions.emitDecoratorMetadata).toBe(true);
    expect(typeCheck(files, APP_DIR)).toEqual([]);
  }, 60_000);

  it('would fail on a stale name or a type-only import used as a value (the check is not vacuous)', () => {
    const controller = join(APP_DIR, 'shapes.controller.ts');
    const stale = new Map(files);
    stale.set(
      controller,
      `${files.get(controller)!}\nimport { ApproovGuardThatDoesNotExist } from 'nestjs-approov';\nvoid ApproovGuardThatDoesNotExist;\n`,
    );
    const valueImportOfAType = new Map(files);
    valueImportOfAType.set(
      controller,
      files
        .get(controller)!
        .replace(/import type \{ ApproovTokenClaims \} from 'nestjs-approov';\n/, '')
        .replace(
          "import { ApproovBinding, ApproovClaims, ApproovGuard } from 'nestjs-approov';",
          "import { ApproovBinding, ApproovClaims, ApproovGuard, ApproovTokenClaims } from 'nestjs-approov';",
        ),
    );
    expect(typeCheck(stale, APP_DIR).join('\n')).toMatch(
      /has no exported member 'ApproovGuardThatDoesNotExist'/,
    );
    expect(typeCheck(valueImportOfAType, APP_DIR).join('\n')).toMatch(
      /decorated signature must be imported with 'import type'/,
    );
  }, 60_000);
});
