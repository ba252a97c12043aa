import { execFile } from 'node:child_process';
import { assertSampleAppBuilt, REPO_ROOT } from '../../scripts/sample-app.mjs';
import { connectSharedRedis, freePort, REDIS_URL } from '../support/redis.js';

// `npm run demo:cluster` is `npm run build && npm run build:sample && node scripts/demo-cluster.mjs`;
// the builds are npm test's, so this runs the script itself, against the Redis at REDIS_URL.

function runCluster(
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, REDIS_URL, ...env };
  delete childEnv.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/demo-cluster.mjs'],
      { cwd: REPO_ROOT, env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

beforeAll(async () => {
  assertSampleAppBuilt();
  (await connectSharedRedis()).disconnect();
});

describe('npm run demo:cluster', () => {
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    run = await runCluster();
  }, 60_000);

  it('exits 0 with every case matched', () => {
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('5/5 cases matched.');
    expect(run.code).toBe(0);
  });

  it('starts two instances on two ports, one Express and one Fastify', () => {
    const ports = [
      ...run.stdout.matchAll(/^ {2}[AB]: http:\/\/127\.0\.0\.1:(\d+) \((express|fastify)\)$/gm),
    ].map((match) => match[1]);
    expect(ports).toHaveLength(2);
    expect(new Set(ports).size).toBe(2);
  });

  it('serves the signed request on the first instance and refuses its replay on the second', () => {
    expect(run.stdout).toMatch(/^A \(express\) +signed GET +200 +200 +yes$/m);
    expect(run.stdout).toMatch(
      /^B \(fastify\) +the same GET, replayed to the other instance +401 +401 +yes +signature_replayed$/m,
    );
    expect(run.stdout).toMatch(
      /^A \(express\) +the same POST, replayed to the other instance +401 +401 +yes +signature_replayed$/m,
    );
  });

  it('stops both instances before exiting', async () => {
    for (const [, port] of run.stdout.matchAll(/^ {2}[AB]: http:\/\/127\.0\.0\.1:(\d+)/gm)) {
      await expect(
        fetch(`http://127.0.0.1:${port}/hello`, { signal: AbortSignal.timeout(5_000) }),
      ).rejects.toThrow();
    }
  });
});

describe('npm run demo:cluster without Redis', () => {
  it('exits 1 saying which Redis it needs, starting nothing', async () => {
    const port = await freePort();
    const run = await runCluster({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `demo:cluster: no Redis answered at 127.0.0.1:${port} (REDIS_URL, default redis://127.0.0.1:6379). Start one (redis-server) or set REDIS_URL.\n`,
    );
    expect(run.stdout).toBe('');
  });
});
