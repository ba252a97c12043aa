import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The built CLI (the package's "bin"), spawned as a user would run it, without the environment's
// Approov secrets or NODE_OPTIONS, so each test says what the command sees.
const ROOT = new URL('../../', import.meta.url);
const BIN = (
  JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { bin: Record<string, string> }
).bin['nestjs-approov']!;
export const CLI = fileURLToPath(new URL(BIN, ROOT));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  { env = {}, cwd }: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliRun> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['APPROOV_BASE64_SECRET', 'APPROOV_BASE64URL_SECRET', 'NODE_OPTIONS'])
    delete base[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { ...base, ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
