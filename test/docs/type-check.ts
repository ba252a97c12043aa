// Type-checking the TypeScript a page shows, in memory, as files of a small app beside the
// repository's package.json, against src/ and under the repository's compiler options.
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT, type CodeBlock } from './markdown.js';

export const compilerOptions: ts.CompilerOptions = (() => {
  const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  if (configFile.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(configFile.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false };
})();

/** `// name.ts` on each block's first line names the file it is, under `appDir`. */
export function filesOf(blocks: readonly CodeBlock[], appDir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const block of blocks.filter((b) => b.language === 'ts' || b.language === 'typescript')) {
    const name = /^\/\/ ([\w.-]+\.ts)\s*$/m.exec(block.text.split('\n')[0] ?? '')?.[1];
    if (name === undefined)
      throw new Error(`a TypeScript block does not start with "// <file>.ts":\n${block.text}`);
    files.set(join(appDir, name), `${block.text}\n`);
  }
  return files;
}

// The last program, so the next check reuses the parsed sources of src/ and node_modules.
let previous: ts.Program | undefined;

/** Type-checks `files` (absolute path -> source) in memory; returns the diagnostics of those files. */
export function typeCheck(files: ReadonlyMap<string, string>, appDir: string): string[] {
  const host = ts.createCompilerHost(compilerOptions, true);
  const { fileExists, readFile, getSourceFile, directoryExists } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
  host.directoryExists = (dir) =>
    dir === appDir || (directoryExists?.call(host, dir) ?? ts.sys.directoryExists(dir));
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
