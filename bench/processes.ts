// The child processes of `npm run bench`: bench servers and one-shot scripts, pinned to their own
// core with taskset when it exists, and the server's CPU time read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serverPort, tasksetPath } from './common.js';
import { serverEnv, type Platform, type Variant } from './variants.js';

export const taskset = tasksetPath();
export const SERVER_CPU = '1';
export const LOAD_CPU = '0';

function pinned(cpu: string, script: string, args: string[]): { command: string; args: string[] } {
  const node = [join(ROOT, 'bench/dist', script), ...args];
  return taskset === null
    ? { command: process.execPath, args: node }
    : { command: taskset, args: ['-c', cpu, process.execPath, ...node] };
}

const CLOCK_TICKS_PER_SEC = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; null where there is no /proc. */
export function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
  } catch {
    return null;
  }
}

/** Runs a pinned child to completion and returns its stdout; rejects on a non-zero exit. */
export function runChild(
  cpu: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  onLine?: (line: string) => void,
): Promise<string> {
  const { command, args: argv } = pinned(cpu, script, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      if (onLine !== undefined)
        for (const line of text.split('\n')) if (line.length > 0) onLine(line);
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}`)),
    );
  });
}

/** The last line a child printed, parsed as JSON: how the core scripts hand their results over. */
export const lastJsonLine = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop()!) as T;

export interface RunningServer {
  child: ChildProcess;
  port: number;
}

/** Starts a variant's server on the server core and resolves once it prints its port. */
export function startServer(
  platform: Platform,
  variant: Variant,
  secret: string,
): Promise<RunningServer> {
  const { command, args } = pinned(SERVER_CPU, 'server.js', [platform, variant.server]);
  const child = spawn(command, args, {
    env: serverEnv(variant, secret),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return serverPort(child).then(
    (port) => ({ child, port }),
    (error: Error) =>
      Promise.reject(new Error(`server ${platform}/${variant.id}: ${error.message}`)),
  );
}

export function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
