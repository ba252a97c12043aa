/** An ioredis client or Cluster, seen through what the replay store uses. */
export interface IoRedisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  readonly status: string;
  disconnect(): void;
}

/** What an ioredis Cluster has beyond a client: its masters, each asked by the health check. */
interface IoRedisClusterLike extends IoRedisClientLike {
  readonly isCluster: boolean;
  nodes(role: 'master'): IoRedisClientLike[];
}

/** A node-redis client (the `redis` package, v4 and later), seen through what this store uses. */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
  readonly isReady: boolean;
  destroy?(): void;
  disconnect?(): Promise<void>;
}

/**
 * A node-redis cluster client (`createCluster`, v4 and later): its sendCommand takes first the key
 * that routes the command to the master of the key's slot.
 */
export interface NodeRedisClusterLike {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  readonly isOpen: boolean;
  /** From v5; v4 has isOpen only. */
  readonly isReady?: boolean;
  readonly masters: readonly object[];
  nodeClient(node: object): NodeRedisClientLike | Promise<NodeRedisClientLike>;
}

/** A client an app already has, on one Redis or on a Redis Cluster: the store sends raw commands, so it needs no more of it. */
export type RedisClientLike = IoRedisClientLike | NodeRedisClientLike | NodeRedisClusterLike;

/** The store's view of any of them. */
export interface RedisCommands {
  /** Sends a command about `key`: to its slot's master on a cluster. */
  sendKeyCommand(key: string, args: string[]): Promise<unknown>;
  isReady(): boolean;
  /**
   * Whether every key can be answered now: PING on one server; on a cluster, CLUSTER INFO (what
   * ioredis's own ready check asks) on each master the client talks to.
   */
  canAnswer(): Promise<boolean>;
}

/** How to send to `client`, or undefined when it is none of the clients above. */
export function redisCommandsOf(client: RedisClientLike): RedisCommands | undefined {
  if (isIoRedis(client)) {
    return {
      // ioredis finds the key of SET itself and routes the command on a Cluster.
      sendKeyCommand: (_key, [command, ...args]) => client.call(command!, ...args),
      isReady: () => client.status === 'ready',
      canAnswer: async () => {
        if (!isIoRedisCluster(client)) return (await client.call('PING')) === 'PONG';
        const masters = client.nodes('master');
        return clusterServesEverySlot(
          await Promise.all(masters.map((master) => master.call('CLUSTER', 'INFO'))),
          masters.length,
        );
      },
    };
  }
  if (isNodeRedisCluster(client)) {
    return {
      sendKeyCommand: (key, args) => client.sendCommand(key, false, args),
      isReady: () => client.isReady ?? client.isOpen,
      canAnswer: async () =>
        clusterServesEverySlot(
          await Promise.all(
            client.masters.map(async (master) =>
              (await client.nodeClient(master)).sendCommand(['CLUSTER', 'INFO']),
            ),
          ),
          client.masters.length,
        ),
    };
  }
  if (isNodeRedis(client)) {
    return {
      sendKeyCommand: (_key, args) => client.sendCommand(args),
      isReady: () => client.isReady,
      canAnswer: async () => (await client.sendCommand(['PING'])) === 'PONG',
    };
  }
  return undefined;
}

/**
 * True when each master answered CLUSTER INFO with cluster_state:ok, and the client talks to as
 * many masters as serve slots (ioredis drops a master whose connection closed from its list).
 */
function clusterServesEverySlot(infos: readonly unknown[], mastersKnown: number): boolean {
  return (
    infos.length > 0 &&
    infos.every((reply) => {
      const info = String(reply);
      const size = /^cluster_size:(\d+)\r?$/m.exec(info)?.[1];
      return (
        /^cluster_state:ok\r?$/m.test(info) && size !== undefined && Number(size) <= mastersKnown
      );
    })
  );
}

function isIoRedis(client: RedisClientLike): client is IoRedisClientLike {
  return (
    typeof (client as IoRedisClientLike).call === 'function' &&
    typeof (client as IoRedisClientLike).status === 'string'
  );
}

function isIoRedisCluster(client: IoRedisClientLike): client is IoRedisClusterLike {
  const cluster = client as Partial<IoRedisClusterLike>;
  return cluster.isCluster === true && typeof cluster.nodes === 'function';
}

function isNodeRedisCluster(client: RedisClientLike): client is NodeRedisClusterLike {
  const cluster = client as Partial<NodeRedisClusterLike>;
  return (
    typeof cluster.sendCommand === 'function' &&
    typeof cluster.nodeClient === 'function' &&
    Array.isArray(cluster.masters)
  );
}

function isNodeRedis(client: RedisClientLike): client is NodeRedisClientLike {
  return typeof (client as NodeRedisClientLike).sendCommand === 'function';
}
