// Types of sample-app.mjs, for the TypeScript tests that start the built sample app with it.
import type { ChildProcess } from 'node:child_process';

export type Platform = 'express' | 'fastify';

export interface SampleAppOptions {
  /** PLATFORM; the app's own default (express) when left out. */
  platform?: Platform;
  /** More variables for the app, over this process's environment less SAMPLE_APP_VARIABLES. */
  env?: Record<string, string>;
  /** PORT; default 0, a free port. */
  port?: number;
  /** HOST; default 127.0.0.1. */
  host?: string;
  /** Node.js options before the entry point (e.g. --expose-gc). */
  nodeArgs?: string[];
  /** Named in the errors; default "the sample app". */
  name?: string;
  /** How long to wait for the "Listening on" line; default 20,000 ms. */
  startTimeoutMs?: number;
}

export interface LaunchedSampleApp {
  child: ChildProcess;
  pid: number | undefined;
  /** Every line the app printed so far, stdout and stderr, in the order they came. */
  lines: string[];
  /** The lines so far, as one text. */
  output(): string;
  /** Calls `listener` with each line from now on; returns a function that stops it. */
  onLine(listener: (line: string) => void): () => void;
  /** Resolves once the app exited and every line it printed was read. */
  closed: Promise<void>;
  /** The URL from the app's "Listening on" line; rejects if it exits or stays silent first. */
  listening: Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5,000); resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface RunningSampleApp extends LaunchedSampleApp {
  url: string;
}

export interface FinishedRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const REPO_ROOT: string;
export const SAMPLE_APP_ENTRY: string;
export const SAMPLE_APP_VARIABLES: readonly string[];
export function assertSampleAppBuilt(): void;
export function launchSampleApp(options?: SampleAppOptions): LaunchedSampleApp;
export function startSampleApp(options?: SampleAppOptions): Promise<RunningSampleApp>;
export function runSampleAppToExit(options?: SampleAppOptions): Promise<FinishedRun>;
