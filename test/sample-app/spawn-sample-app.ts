// Runs the BUILT sample app (sample-app/dist/main.js, as `npm run start:sample` does) in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SAMPLE_APP_ENTRY = fileURLToPath(
  new URL('../../sample-app/dist/main.js', import.meta.url),
);
const START_TIMEOUT_MS = 20_000;

export type Platform = 'express' | 'fastify';

export interface RunningSampleApp {
  url: string;
  /** Everything the app printed so far, stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

export function assertBuilt(): void {
  if (!existsSync(SAMPLE_APP_ENTRY)) {
    throw new Error(
      'sample-app/dist/main.js is missing: run "npm run build && npm run build:sample" (npm test does).',
    );
  }
}

/** The child's environment: this process's, minus every variable the sample app reads, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of [
    'APPROOV_BASE64_SECRET',
    'APPROOV_BASE64URL_SECRET',
    'APPROOV_MESSAGE_SIGNING_KEY',
    'PORT',
    'HOST',
    'PLATFORM',
    'NODE_OPTIONS',
    'REDIS_URL',
    'REDIS_KEY_PREFIX',
    'APPROOV_JWKS_URI',
    'APPROOV_ISSUER',
    'APPROOV_AUDIENCE',
  ]) {
    delete base[name];
  }
  return { ...base, ...env };
}

function spawnApp(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [SAMPLE_APP_ENTRY], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}

/** Starts the app on a free port (PORT=0) and resolves once it logs the URL it listens on. */
export async function startSampleApp(env: Record<string, string>): Promise<RunningSampleApp> {
  assertBuilt();
  const { child, output } = spawnApp({ PORT: '0', ...env });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`no "Listening on" line within ${START_TIMEOUT_MS} ms:\n${output()}`)),
      START_TIMEOUT_MS,
    );
    const onData = (): void => {
      const match = /Listening on (http:\/\/\S+)/.exec(output());
      if (match) finish(null, match[1]);
    };
    const onExit = (code: number | null): void =>
      finish(new Error(`the sample app exited (${code}):\n${output()}`));
    function finish(error: Error | null, value?: string): void {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (error === null) return resolve(value!);
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout!.on('data', onData);
    child.on('exit', onExit);
  });
  return {
    url,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface FinishedRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the app when it is expected to refuse to start; kills it if it starts after all. */
export async function runSampleAppToExit(env: Record<string, string>): Promise<FinishedRun> {
  assertBuilt();
  const child = spawn(process.execPath, [SAMPLE_APP_ENTRY], {
    cwd: REPO_ROOT,
    env: childEnv({ PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('Listening on')) child.kill('SIGKILL');
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
