import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { stopChild } from '../../scripts/child-process.mjs';
import { httpGet } from '../support/http-client.js';

// @nestjs/throttler with ApproovThrottlerGuard, limit 2 per window: each device has a bucket of its
// own whichever guard runs first, and a token that does not verify counts on the client's IP. The
// app runs the built package in a child process (see throttler-app.mjs for why).

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP = fileURLToPath(new URL('./throttler-app.mjs', import.meta.url));
const START_TIMEOUT_MS = 20_000;

const SECRET = createApproovSecret();
const token = (did: string) => createApproovToken({ secret: SECRET, claims: { did } });
const DEVICE_A = token('device-A');
const DEVICE_B = token('device-B');
// Valid, but naming no device.
const NO_DID = createApproovToken({ secret: SECRET });
// Signed with another secret, claiming device A.
const FORGED_A = createApproovToken({ secret: createApproovSecret(), claims: { did: 'device-A' } });

interface ChildApp {
  child: ChildProcess;
  baseUrl: string;
  output: string[];
}

async function startChildApp(adapter: string): Promise<ChildApp> {
  if (!existsSync(`${ROOT}/dist/index.mjs`))
    throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
  const child = spawn(process.execPath, [APP, adapter], {
    cwd: ROOT,
    env: { ...process.env, APPROOV_BASE64_SECRET: SECRET, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  try {
    const [first] = (await Promise.race([
      once(lines, 'line'),
      once(child, 'exit').then(() => {
        throw new Error(`the throttler app exited before listening:\n${output.join('\n')}`);
      }),
    ])) as [string];
    const { port } = JSON.parse(first) as { port: number };
    return { child, baseUrl: `http://127.0.0.1:${port}`, output };
  } finally {
    clearTimeout(timer);
  }
}

describe.each(['express', 'fastify'])('ApproovThrottlerGuard on %s', (adapter) => {
  let app: ChildApp;
  beforeEach(async () => {
    app = await startChildApp(adapter);
  });
  afterEach(async () => {
    await stopChild(app.child);
    expect(app.output).toEqual([]); // no error or warning logged
  });

  /** The statuses of GETs to `path`, one after the other, each with its token (or none). */
  async function statuses(path: string, tokens: Array<string | undefined>): Promise<number[]> {
    const result: number[] = [];
    for (const sent of tokens)
      result.push(
        (await httpGet(app.baseUrl, path, sent === undefined ? {} : { 'Approov-Token': sent }))
          .status,
      );
    return result;
  }

  it.each(['approov-first', 'throttler-first'])(
    'counts each device apart on /%s: A, A, A, then B give 200, 200, 429, 200',
    async (path) => {
      expect(await statuses(`/${path}`, [DEVICE_A, DEVICE_A, DEVICE_A, DEVICE_B])).toEqual([
        200, 200, 429, 200,
      ]);
    },
  );

  it("counts a forged token with A's did on the IP, not on A's bucket", async () => {
    expect(
      await statuses('/throttler-first', [
        DEVICE_A,
        DEVICE_A, // A's bucket is full
        FORGED_A, // the IP's bucket: let through by the throttler, refused by ApproovGuard
        FORGED_A,
        FORGED_A, // the IP's bucket is full
        undefined, // no token: the same IP bucket
        DEVICE_B, // B still has a bucket of its own
      ]),
    ).toEqual([200, 200, 401, 401, 429, 429, 200]);
  });

  it('tells devices from IPs with no Approov guard on the route; a token without did is an IP', async () => {
    expect(
      await statuses('/open', [undefined, NO_DID, FORGED_A, DEVICE_A, DEVICE_A, DEVICE_A]),
    ).toEqual([200, 200, 429, 200, 200, 429]);
  });
});
