import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import type { RedisClientLike } from 'nestjs-approov';
import { freePort } from './redis.js';

// A Redis Cluster of the test file's own: three masters, no replicas, no persistence, on free
// ports of 127.0.0.1, joined by redis-cli. One per suite file, stopped in its afterAll.

const START_TIMEOUT_MS = 20_000;
const POLL_MS = 50;

/** One redis-server of the cluster. */
export interface ClusterNode {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** Its own connection (not a cluster client): CLUSTER INFO, KEYSLOT, NODES. */
  readonly admin: Redis;
}

export interface LocalRedisClusterOptions {
  /** Masters, each with an equal share of the slots. Default 3. */
  masters?: number;
  /** cluster-node-timeout: how long a silent master is waited for before the cluster fails. Default 15,000. */
  nodeTimeoutMs?: number;
}

export class LocalRedisCluster {
  private stopped = false;
  private readonly paused = new Set<ClusterNode>();
  private readonly killOnExit = (): void => this.killAll();

  private constructor(
    readonly nodes: readonly ClusterNode[],
    private readonly dir: string,
  ) {
    process.once('exit', this.killOnExit);
  }

  /** Where a client starts discovering the cluster: every master, as ioredis's Cluster takes them. */
  get startupNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map(({ port }) => ({ host: '127.0.0.1', port }));
  }

  /** The same, as node-redis's createCluster takes them. */
  get rootNodes(): Array<{ url: string }> {
    return this.nodes.map(({ url }) => ({ url }));
  }

  static async start(options: LocalRedisClusterOptions = {}): Promise<LocalRedisCluster> {
    for (const binary of ['redis-server', 'redis-cli']) {
      const found = spawnSync(binary, ['--version'], { encoding: 'utf8' });
      if (found.error !== undefined || found.status !== 0) {
        throw new Error(
          `The Redis Cluster tests need the ${binary} binary on PATH (they start a cluster of their own); ` +
            'it was not found. Install Redis (apt-get install redis-server, brew install redis).',
        );
      }
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    const dir = mkdtempSync(join(tmpdir(), 'approov-redis-cluster-'));
    const nodes: ClusterNode[] = [];
    const cluster = new LocalRedisCluster(nodes, dir);
    try {
      for (let i = 0; i < (options.masters ?? 3); i++) {
        // Listed before it answers, so that stop() kills it whatever happens next.
        const node = await spawnNode(dir, options.nodeTimeoutMs ?? 15_000);
        nodes.push(node);
        await waitUntilAnswering(node, deadline);
      }
      await joinCluster(nodes, deadline);
      await cluster.waitForState('ok', deadline - Date.now());
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** The keys under `prefix` on every running master. */
  async keys(prefix: string): Promise<string[]> {
    const running = this.nodes.filter((node) => !this.paused.has(node));
    return (await Promise.all(running.map((node) => node.admin.keys(`${prefix}*`)))).flat();
  }

  /** The slot of `key` (CRC16 of the key, or of its {hash tag}), as the cluster computes it. */
  async slotOf(key: string): Promise<number> {
    return (await this.liveNode().admin.call('CLUSTER', 'KEYSLOT', key)) as number;
  }

  /** The master that serves `slot`, as a live node sees the cluster. */
  async masterOf(slot: number): Promise<ClusterNode> {
    const shards = (await this.liveNode().admin.call('CLUSTER', 'SLOTS')) as Array<
      [number, number, [string, number, ...unknown[]], ...unknown[]]
    >;
    const shard = shards.find(([first, last]) => first <= slot && slot <= last);
    const node = this.nodes.find(({ port }) => port === shard?.[2][1]);
    if (node === undefined) throw new Error(`no master serves slot ${slot}`);
    return node;
  }

  /** Waits until every running node reports cluster_state `state` (bounded by `timeoutMs`). */
  async waitForState(state: 'ok' | 'fail', timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(
        this.nodes
          .filter((node) => !this.paused.has(node))
          .map((node) => node.admin.call('CLUSTER', 'INFO').catch(() => '') as Promise<string>),
      );
      if (infos.every((info) => info.includes(`cluster_state:${state}\r\n`))) return;
      if (Date.now() > deadline)
        throw new Error(
          `the Redis Cluster did not reach cluster_state:${state} in ${timeoutMs} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** SIGSTOP: the node keeps its connections open and answers nothing, as a hung or cut-off host. */
  pause(node: ClusterNode): void {
    node.process.kill('SIGSTOP');
    this.paused.add(node);
  }

  resume(node: ClusterNode): void {
    node.process.kill('SIGCONT');
    this.paused.delete(node);
  }

  /** Kills every node (SIGKILL) and removes the temporary folder; safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.removeListener('exit', this.killOnExit);
    for (const node of this.nodes) node.admin.disconnect();
    const exits = this.nodes
      .filter(({ process: child }) => child.exitCode === null && child.signalCode === null)
      .map(({ process: child }) => once(child, 'exit'));
    this.killAll();
    await Promise.all(exits);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private killAll(): void {
    for (const { process: child } of this.nodes) child.kill('SIGKILL');
  }

  private liveNode(): ClusterNode {
    const node = this.nodes.find((candidate) => !this.paused.has(candidate));
    if (node === undefined) throw new Error('every node of the cluster is paused');
    return node;
  }
}

async function spawnNode(dir: string, nodeTimeoutMs: number): Promise<ClusterNode> {
  const [port, busPort] = [await freePort(), await freePort()];
  // prettier-ignore
  const child = spawn('redis-server', [
    '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
  ], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500 });
  admin.on('error', () => {});
  return { port, url, process: child, admin };
}

async function waitUntilAnswering(node: ClusterNode, deadline: number): Promise<void> {
  const answers = (): Promise<boolean> =>
    node.admin.ping().then(
      (reply) => reply === 'PONG',
      () => false,
    );
  while (!(await answers())) {
    if (node.process.exitCode !== null)
      throw new Error(
        `redis-server exited with code ${node.process.exitCode} on port ${node.port}`,
      );
    if (Date.now() > deadline)
      throw new Error(`redis-server did not answer on port ${node.port} in time`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function joinCluster(nodes: readonly ClusterNode[], deadline: number): Promise<void> {
  const cli = spawn(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map(({ port }) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], timeout: Math.max(1, deadline - Date.now()) },
  );
  let output = '';
  cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code, signal] = (await once(cli, 'exit')) as [number | null, string | null];
  if (code !== 0)
    throw new Error(`redis-cli --cluster create failed (${signal ?? `exit ${code}`}):\n${output}`);
}

export type ClusterClientKind = 'ioredis' | 'node-redis';
export const CLUSTER_CLIENT_KINDS: readonly ClusterClientKind[] = ['ioredis', 'node-redis'];

/** An app's own cluster client, as an app builds it (default options), once it is ready. */
export async function connectClusterClient(
  cluster: LocalRedisCluster,
  kind: ClusterClientKind,
): Promise<{ client: RedisClientLike; close: () => Promise<void> }> {
  if (kind === 'ioredis') {
    const client = new Cluster(cluster.startupNodes);
    client.on('error', () => {});
    await once(client, 'ready');
    return { client, close: async () => client.disconnect() };
  }
  const client = createCluster({ rootNodes: cluster.rootNodes });
  client.on('error', () => {});
  await client.connect();
  return { client, close: async () => client.destroy() };
}
