// The Redis Cluster recipes of docs/integrations.md are files of a small app: they must type-check
// against src/, so RedisReplayStore's client type accepts both packages' cluster clients as shown.
import { join } from 'node:path';
import { DOCS_DIR, ROOT, codeBlocks, read } from './markdown.js';
import { filesOf, typeCheck } from './type-check.js';

const APP_DIR = join(ROOT, 'integrations-app');
const SECTION = '## Redis Cluster and Valkey';

/** The section's text, up to the next second-level heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/integrations.md has no "${heading}" section`);
  const end = markdown.indexOf('\n## ', start + heading.length + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

// The node-redis block only builds the client: this file hands it to the store, as an app would.
const NODE_REDIS_STORE = `
import { RedisReplayStore } from 'nestjs-approov';
import { redisClusterProvider } from './redis-cluster.node-redis.js';

export const store = new RedisReplayStore(await redisClusterProvider.useFactory(), { keyPrefix: 'myapi:replay:' });
`;

describe('the Redis Cluster recipes of docs/integrations.md', () => {
  const files = filesOf(
    codeBlocks(section(read(join(DOCS_DIR, 'integrations.md')), SECTION)),
    APP_DIR,
  );

  it('show the ioredis module, the app module and the node-redis provider, each naming its file', () => {
    expect([...files.keys()].map((file) => file.slice(APP_DIR.length + 1)).sort()).toEqual([
      'app.module.ts',
      'redis-cluster.module.ts',
      'redis-cluster.node-redis.ts',
    ]);
  });

  it('compile against src/, the node-redis cluster client handed to RedisReplayStore included', () => {
    const withStore = new Map(files).set(join(APP_DIR, 'node-redis-store.ts'), NODE_REDIS_STORE);
    expect(typeCheck(withStore, APP_DIR)).toEqual([]);
  }, 60_000);

  it('would fail on an object that is no Redis client (the client type is not too wide)', () => {
    const notAClient = new Map(files).set(
      join(APP_DIR, 'not-a-client.ts'),
      "import { RedisReplayStore } from 'nestjs-approov';\nexport const store = new RedisReplayStore({ sendCommand: (n: number) => n });\n",
    );
    expect(typeCheck(notAClient, APP_DIR).join('\n')).toMatch(/not-a-client\.ts:2: /);
  }, 60_000);
});

describe('the Terminus and throttler recipes of docs/integrations.md', () => {
  it.each([
    ['## Health checks (Terminus)', 'health.controller.ts'],
    ['## Throttling per device', 'app.module.ts'],
  ])(
    '%s: %s compiles against src/',
    (heading, file) => {
      const dir = join(ROOT, 'integrations-app', file.replace(/\.ts$/, ''));
      const files = filesOf(
        codeBlocks(section(read(join(DOCS_DIR, 'integrations.md')), heading)),
        dir,
      );
      expect([...files.keys()].map((name) => name.slice(dir.length + 1))).toEqual([file]);
      expect(typeCheck(files, dir)).toEqual([]);
    },
    60_000,
  );
});

// The page that holds the onCheck section: one name to change should it move to a page of its own.
const ON_CHECK_PAGE = 'observability.md';

describe(`the onCheck recipes of docs/${ON_CHECK_PAGE}`, () => {
  const files = filesOf(
    codeBlocks(
      section(read(join(DOCS_DIR, ON_CHECK_PAGE)), '## OpenTelemetry and the onCheck hook'),
    ),
    APP_DIR,
  );

  it('show the OpenTelemetry module and the prom-client hook, each naming its file', () => {
    expect([...files.keys()].map((file) => file.slice(APP_DIR.length + 1)).sort()).toEqual([
      'approov-metrics.ts',
      'otel.module.ts',
    ]);
  });

  it('compile against src/, the prom-client hook given to onCheck beside the OpenTelemetry one', () => {
    const both = new Map(files).set(
      join(APP_DIR, 'both-hooks.ts'),
      "import type { ApproovModuleOptions } from 'nestjs-approov';\n" +
        "import { approovOpenTelemetry } from 'nestjs-approov/opentelemetry';\n" +
        "import { recordApproovCheck } from './approov-metrics.js';\n" +
        'const otel = approovOpenTelemetry();\n' +
        'export const options: ApproovModuleOptions = {\n' +
        '  onCheck: (report) => {\n    otel(report);\n    recordApproovCheck(report);\n  },\n};\n',
    );
    expect(typeCheck(both, APP_DIR)).toEqual([]);
  }, 60_000);
});
