import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

// Redis for the replay-store tests. The shared server comes from REDIS_URL (default
// redis://127.0.0.1:6379); each test file works under a key prefix of its own. Fault tests start
// a private redis-server on a free port, so stopping or pausing it disturbs nobody else.

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const READY_TIMEOUT_MS = 5_000;

/** A key prefix no other test file (or run) uses. */
export function uniqueKeyPrefix(file: string): string {
  return `approov-test:${file}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/**
 * A client on REDIS_URL, once it answers PING; otherwise fails the suite saying what is missing.
 * No silent skip: replay protection across instances is only tested against a real Redis.
 */
export async function connectSharedRedis(url = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(
      `These tests need a Redis server at ${url} (the REDIS_URL environment variable, default ` +
        `redis://127.0.0.1:6379), and none answered (${(error as Error).message}). Start one (redis-server) ` +
        'or point REDIS_URL at one: see "Running the tests" in docs/replay-protection.md.',
      { cause: error },
    );
  }
  return client;
}

/** Deletes every key under `prefix` (the tests' own keys only). */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  for await (const keys of client.scanStream({ match: `${prefix}*`, count: 1000 }))
    if (keys.length > 0) await client.del(...keys);
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it right away). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A redis-server of the test's own, without persistence: stop, pause, resume and restart it. */
export class PrivateRedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedisServer> {
    const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (found.error !== undefined || found.status !== 0) {
      throw new Error(
        'The Redis fault tests need the redis-server binary on PATH (they start, pause and restart their own ' +
          'server); it was not found. Install Redis (apt-get install redis-server, brew install redis).',
      );
    }
    const server = new PrivateRedisServer(await freePort());
    await server.restart();
    return server;
  }

  /** Starts the server (again, on the same port, empty: nothing is saved). */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('the private redis-server is already running');
    const child = spawn(
      'redis-server',
      [
        '--save',
        '',
        '--appendonly',
        'no',
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await this.answers())) {
      if (child.exitCode !== null)
        throw new Error(`redis-server exited with code ${child.exitCode} on port ${this.port}`);
      if (Date.now() > deadline)
        throw new Error(
          `redis-server did not answer on port ${this.port} within ${READY_TIMEOUT_MS} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the server (SIGKILL: a crash, nothing flushed) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  private async answers(): Promise<boolean> {
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }
}
