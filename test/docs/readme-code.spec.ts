// The README's TypeScript is a small app (quickstart + its test): it must type-check against src/,
// under the repository's compiler options (isolatedModules and emitDecoratorMetadata included).
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT, codeBlocks, read } from './markdown.js';

/** Where the README's files pretend to live: next to the repository's package.json ("type": "module"). */
const APP_DIR = join(ROOT, 'readme-app');

const compilerOptions: ts.CompilerOptions = (() => {
  const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  if (configFile.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(configFile.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false };
})();

/** `// name.ts` on a block's first line names the file it is; every README block must have one. */
function filesOf(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const block of codeBlocks(markdown).filter(
    (b) => b.language === 'ts' || b.language === 'typescript',
  )) {
    const name = /^\/\/ ([\w.-]+\.ts)\s*$/m.exec(block.text.split('\n')[0] ?? '')?.[1];
    if (name === undefined)
      throw new Error(
        `a README TypeScript block does not start with "// <file>.ts":\n${block.text}`,
      );
    files.set(join(APP_DIR, name), `${block.text}\n`);
  }
  return files;
}

// The last program, so the next check reuses the parsed sources of src/ and node_modules.
let previous: ts.Program | undefined;

/** Type-checks `files` (absolute path -> source) in memory; returns the diagnostics of those files. */
function typeCheck(files: ReadonlyMap<string, string>): string[] {
  const host = ts.createCompilerHost(compilerOptions, true);
  const { fileExists, readFile, getSourceFile, directoryExists } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
  host.directoryExists = (dir) =>
    dir === APP_DIR || (directoryExists?.call(host, dir) ?? ts.sys.directoryExists(dir));
  host.getSourceFile = (file, languageVersion, onError, shouldCreate) => {
    const text = files.get(file);
    return text !== undefined
      ? ts.createSourceFile(file, text, languageVersion, true)
      : getSourceFile.call(host, file, languageVersion, onError, shouldCreate);
  };
  const program = ts.createProgram({
    rootNames: [...files.keys()],
    options: compilerOptions,
    host,
    oldProgram: previous,
  });
  previous = program;
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...[...files.keys()].flatMap((file) => {
      const source = program.getSourceFile(file);
      if (source === undefined) throw new Error(`${file} was not compiled`);
      return [
        ...program.getSyntacticDiagnostics(source),
        ...program.getSemanticDiagnostics(source),
      ];
    }),
  ];
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName.slice(ROOT.length + 1)}:${line + 1}: ${message}`;
  });
}

describe("the README's TypeScript", () => {
  const files = filesOf(read(join(ROOT, 'README.md')));

  it('is the quickstart app and its test, each block naming its file', () => {
    expect([...files.keys()].map((file) => file.slice(APP_DIR.length + 1)).sort()).toEqual(
      expect.arrayContaining(['app.module.ts', 'main.ts', 'shapes.controller.ts']),
    );
  });

  it('compiles against src/ with the repository tsconfig (isolatedModules, emitDecoratorMetadata)', () => {
    expect(compilerOptions.isolatedModules).toBe(true);
    expect(compilerOptions.emitDecoratorMetadata).toBe(true);
    expect(typeCheck(files)).toEqual([]);
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
    expect(typeCheck(stale).join('\n')).toMatch(
      /has no exported member 'ApproovGuardThatDoesNotExist'/,
    );
    expect(typeCheck(valueImportOfAType).join('\n')).toMatch(
      /decorated signature must be imported with 'import type'/,
    );
  }, 60_000);
});
