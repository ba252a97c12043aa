import type { Redis } from 'ioredis';
import { connectSharedRedis, deleteKeys, REDIS_URL, uniqueKeyPrefix } from '../support/redis.js';
import {
  SERVED,
  UNAUTHORIZED,
  replayAccount,
  sendTo,
  signedRequest,
} from '../support/replay-requests.js';
import {
  runSampleAppToExit,
  startSampleApp,
  type Platform,
  type RunningSampleApp,
} from '../../scripts/sample-app.mjs';

// The built sample app (node sample-app/dist/main.js): in memory by default, Redis with REDIS_URL.

const SECRET = replayAccount.secret;
const PREFIX = uniqueKeyPrefix('sample-app-replay');

describe.each<Platform>(['express', 'fastify'])(
  'the built sample app on %s, REDIS_URL unset',
  (platform) => {
    let app: RunningSampleApp;

    beforeAll(async () => {
      app = await startSampleApp({ platform, env: { APPROOV_BASE64_SECRET: SECRET } });
    });
    afterAll(() => app?.stop());

    it('remembers signed requests in memory, and says so at startup', () => {
      expect(app.output()).toContain(
        'Replay store: in memory (set REDIS_URL to share it between instances)',
      );
    });

    it('serves a signed GET /message-signing once and refuses its replay', async () => {
      const captured = signedRequest('GET', '/message-signing');
      const url = new URL(app.url);
      expect([await sendTo(url, captured), await sendTo(url, captured)]).toEqual([
        SERVED,
        UNAUTHORIZED,
      ]);
    });
  },
);

describe('two built sample apps sharing the Redis at REDIS_URL', () => {
  let admin: Redis;
  const apps: RunningSampleApp[] = [];

  beforeAll(async () => {
    admin = await connectSharedRedis();
    for (const platform of ['express', 'fastify'] as const) {
      apps.push(
        await startSampleApp({
          platform,
          env: { APPROOV_BASE64_SECRET: SECRET, REDIS_URL, REDIS_KEY_PREFIX: PREFIX },
        }),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await deleteKeys(admin, PREFIX);
    admin.disconnect();
  });

  it('say at startup that they use Redis, without printing its URL', () => {
    for (const app of apps) {
      expect(app.output()).toContain(`Replay store: Redis, keys under "${PREFIX}"`);
      expect(app.output()).not.toContain(REDIS_URL);
    }
  });

  it('refuse on the second the replay of a request the first served, and the other way round', async () => {
    const [first, second] = apps.map((app) => new URL(app.url)) as [URL, URL];
    const one = signedRequest('GET', '/message-signing');
    expect([await sendTo(first, one), await sendTo(second, one)]).toEqual([SERVED, UNAUTHORIZED]);
    const two = signedRequest('POST', '/message-signing', { body: '{"transfer":{"amount":10}}' });
    expect([await sendTo(second, two), await sendTo(first, two)]).toEqual([SERVED, UNAUTHORIZED]);
  });
});

describe('the built sample app with a bad REDIS_URL', () => {
  it.each([
    [
      'an empty REDIS_URL',
      { REDIS_URL: '' },
      /REDIS_URL: .*must be redis:\/\/host\[:port\] or rediss:\/\/host\[:port\]/,
    ],
    ['an http URL', { REDIS_URL: 'http://cache.internal:6379' }, /REDIS_URL: /],
    ['a URL with no host', { REDIS_URL: 'redis://:hunter2@' }, /REDIS_URL: /],
    [
      'a key prefix with spaces',
      { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: 'my app' },
      /REDIS_KEY_PREFIX: .*keyPrefix/,
    ],
  ])(
    'refuses %s: exit code 1 and one line naming the variable, not its value',
    async (_, env: Record<string, string>, message) => {
      const run = await runSampleAppToExit({ env: { APPROOV_BASE64_SECRET: SECRET, ...env } });
      expect(run.code).toBe(1);
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^sample-app: cannot start: /);
      expect(lines[0]).toMatch(message);
      for (const value of Object.values(env).filter((v) => v.length > 0))
        expect(run.stderr).not.toContain(value);
    },
  );
});
