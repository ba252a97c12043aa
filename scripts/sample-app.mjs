// The one way this repository runs the BUILT sample app (sample-app/dist/main.js, as
// `npm run start:sample` does): the demos, the soak and the tests all start it here. It starts
// the app on a free port, waits for its "Listening on" line under a deadline, keeps every line
// the app prints, and stops it. Types: sample-app.d.mts.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stopChild } from './child-process.mjs';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SAMPLE_APP_ENTRY = fileURLToPath(
  new URL('../sample-app/dist/main.js', import.meta.url),
);
const START_TIMEOUT_MS = 20_000;
const LISTENING = /Listening on (http:\/\/\S+)/;

/** What the sample app reads from its environment: set only by the caller, never inherited. */
export const SAMPLE_APP_VARIABLES = [
  'APPROOV_BASE64_SECRET',
  'APPROOV_BASE64URL_SECRET',
  'APPROOV_MESSAGE_SIGNING_KEY',
  'APPROOV_JWKS_URI',
  'APPROOV_ISSUER',
  'APPROOV_AUDIENCE',
  'APPROOV_REJECT_LOG',
  'PORT',
  'HOST',
  'PLATFORM',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'NODE_OPTIONS',
];

export function assertSampleAppBuilt() {
  if (!existsSync(SAMPLE_APP_ENTRY))
    throw new Error(
      'sample-app/dist/main.js is missing: run "npm run build && npm run build:sample" first (npm test does).',
    );
}

function spawnApp({ platform, env = {}, port = 0, host = '127.0.0.1', nodeArgs = [] }) {
  const childEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of SAMPLE_APP_VARIABLES) delete childEnv[name];
  Object.assign(childEnv, { PORT: String(port), HOST: host });
  if (platform !== undefined) childEnv.PLATFORM = platform;
  return spawn(process.execPath, [...nodeArgs, SAMPLE_APP_ENTRY], {
    cwd: REPO_ROOT,
    env: { ...childEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Starts the app and returns at once; `listening` resolves with its URL once it logs it, or
 * rejects (the app killed) when it exits first or stays silent past the deadline.
 */
export function launchSampleApp(options = {}) {
  assertSampleAppBuilt();
  const { name = 'the sample app', startTimeoutMs = START_TIMEOUT_MS } = options;
  const child = spawnApp(options);
  const lines = [];
  const listeners = new Set();
  const onLine = (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  for (const stream of [child.stdout, child.stderr])
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      lines.push(line);
      for (const listener of listeners) listener(line);
    });
  // 'close', not 'exit': by then every line the app printed has been read.
  const closed = once(child, 'close').then(() => undefined);
  const output = () => lines.join('\n');

  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`${name} did not log "Listening on" within ${startTimeoutMs} ms`)),
      startTimeoutMs,
    );
    const stopListening = onLine((line) => {
      const match = LISTENING.exec(line);
      if (match !== null) done(null, match[1]);
    });
    const onClose = (code) => done(new Error(`${name} exited with code ${code}:\n${output()}`));
    function done(error, url) {
      clearTimeout(timer);
      stopListening();
      child.off('close', onClose);
      if (error === null) return resolve(url);
      child.kill('SIGKILL');
      reject(error);
    }
    child.on('close', onClose);
  });
  listening.catch(() => undefined); // a caller that never awaits it must not crash the process

  return {
    child,
    pid: child.pid,
    lines,
    output,
    onLine,
    closed,
    listening,
    /** SIGTERM (Nest's shutdown hooks run), SIGKILL after `graceMs`; resolves once it exited. */
    stop: (graceMs = 5_000) => stopChild(child, graceMs),
  };
}

/** Starts the app and resolves once it listens, with its URL as `url`. */
export async function startSampleApp(options = {}) {
  const app = launchSampleApp(options);
  return Object.assign(app, { url: await app.listening });
}

/** Runs the app when it is expected to refuse to start; kills it if it starts listening after all. */
export async function runSampleAppToExit(options = {}) {
  assertSampleAppBuilt();
  const { startTimeoutMs = START_TIMEOUT_MS } = options;
  const child = spawnApp(options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk.toString();
    if (LISTENING.test(stdout)) child.kill('SIGKILL');
  });
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), startTimeoutMs);
  const [code] = await once(child, 'close');
  clearTimeout(timer);
  return { code, stdout, stderr };
}
