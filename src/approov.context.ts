import type { ExecutionContext } from '@nestjs/common';
import type { ApproovRequestLike } from './core/http/request.js';
import { handshakeRequestOf } from './core/http/handshakes.js';

/** The kinds of handler Nest serves, as ExecutionContext.getType() names them. */
export type ApproovContextType = 'http' | 'graphql' | 'ws' | 'rpc';

/**
 * One handler call as the guard sees it: the request its token travels on, and the object its
 * verified claims are kept on. Read from `getType()` and `getArgByIndex()`: no GraphQL, WebSocket
 * or microservice package is imported to find them.
 */
export interface ApproovCall {
  readonly type: ApproovContextType;
  /**
   * The HTTP request (HTTP routes, GraphQL over HTTP, a WebSocket's handshake), or the header
   * view of a gRPC call's metadata. Undefined when the context carries no place Approov's SDKs
   * put a token: then `unsupported` says why, naming the transport.
   */
  readonly request: ApproovRequestLike | undefined;
  /**
   * A per-call object the server made, where the verified claims are kept (under a private mark):
   * the HTTP request, a WebSocket connection, a gRPC call or a transport's context. Never a
   * payload, a root value or any object a client can shape.
   */
  readonly anchor: object;
  /** Set when `request` is undefined: why no token can be read here, for the error message. */
  readonly unsupported?: string;
  /** True when an HTTP request is underneath, so binding and message signing can apply. */
  readonly overHttp: boolean;
  /** True for a gRPC call, whose rejects are gRPC statuses. */
  readonly grpc?: true;
}

const TRANSPORT_NAMES: Readonly<Record<string, string>> = {
  TcpContext: 'TCP',
  RedisContext: 'Redis',
  NatsContext: 'NATS',
  MqttContext: 'MQTT',
  RmqContext: 'RabbitMQ',
  KafkaContext: 'Kafka',
};

/** Where the handler call's token and claims live, by context type. */
export function resolveApproovCall(context: ExecutionContext): ApproovCall {
  switch (context.getType<ApproovContextType>()) {
    case 'graphql':
      return graphQLCall(context);
    case 'ws':
      return webSocketCall(context);
    case 'rpc':
      return rpcCall(context);
    default: {
      const request = context.switchToHttp().getRequest<ApproovRequestLike>();
      return { type: 'http', request, anchor: request, overHttp: true };
    }
  }
}

/**
 * The HTTP request from the GraphQL context: `req` as Nest's Apollo and Mercurius drivers put it
 * there (Mercurius also has `reply.request`). The root value is never used: Mercurius shares one
 * root object between requests.
 */
function graphQLCall(context: ExecutionContext): ApproovCall {
  const graphQLContext = context.getArgByIndex<Record<string, unknown> | undefined>(2);
  const request = (graphQLContext?.req ??
    (graphQLContext?.reply as { request?: unknown } | undefined)?.request) as
    ApproovRequestLike | undefined;
  if (!isObject(request) || !isObject((request as { headers?: unknown }).headers)) {
    return unsupported(
      'graphql',
      graphQLContext,
      'the GraphQL context has no HTTP request: keep `req` in the GraphQL context factory ' +
        '(context: ({ req }) => ({ req, ... })); subscriptions over WebSockets carry none',
    );
  }
  return { type: 'graphql', request, anchor: request, overHttp: true };
}

/**
 * A WebSocket message: the token comes from the connection's handshake request, as the SDKs
 * send it on the upgrade. socket.io keeps that request on the socket; a `ws` connection is
 * matched to the upgrade request the module saw on the app's HTTP server.
 */
function webSocketCall(context: ExecutionContext): ApproovCall {
  const client = context.switchToWs().getClient<object>();
  if (!isObject(client)) return unsupported('ws', undefined, 'the WebSocket client is missing');
  const request = ((client as { request?: unknown }).request ??
    handshakeRequestOf((client as { _socket?: unknown })._socket)) as
    ApproovRequestLike | undefined;
  if (!isObject(request)) {
    return unsupported(
      'ws',
      client,
      "the WebSocket connection's handshake request is unknown: a `ws` gateway must share the " +
        "app's HTTP server (no port of its own in @WebSocketGateway)",
    );
  }
  return { type: 'ws', request, anchor: client, overHttp: false };
}

/**
 * A microservice message. gRPC carries metadata, where the token travels as `approov-token`;
 * the other transports carry nothing Approov's SDKs fill, so the guard cannot read a token there
 * unless the app supplies one (override `getRequest`). The payload is never read.
 */
function rpcCall(context: ExecutionContext): ApproovCall {
  const second = context.getArgByIndex<unknown>(1);
  if (isGrpcMetadata(second)) {
    const call = context.getArgByIndex<unknown>(2);
    const request = grpcRequestOf(second, call);
    return {
      type: 'rpc',
      request,
      anchor: isObject(call) ? call : second,
      overHttp: false,
      grpc: true,
    };
  }
  const name = isObject(second) ? second.constructor?.name : undefined;
  const transport = (name !== undefined && TRANSPORT_NAMES[name]) || 'this transport';
  return unsupported(
    'rpc',
    second,
    `${transport} messages carry no Approov token: override getRequest in a subclass of ` +
      'ApproovGuard to read one from the transport (see docs/contexts.md), or @SkipApproov() the handler',
  );
}

function unsupported(type: ApproovContextType, anchor: unknown, why: string): ApproovCall {
  return {
    type,
    request: undefined,
    anchor: isObject(anchor) ? anchor : {},
    unsupported: why,
    overHttp: false,
  };
}

/** The shape of @grpc/grpc-js's Metadata, read without importing it. */
interface GrpcMetadataLike {
  get(key: string): unknown[];
  toJSON(): Record<string, unknown[]>;
}

function isGrpcMetadata(value: unknown): value is GrpcMetadataLike {
  return (
    isObject(value) &&
    typeof (value as Partial<GrpcMetadataLike>).get === 'function' &&
    typeof (value as Partial<GrpcMetadataLike>).toJSON === 'function' &&
    typeof (value as { getMap?: unknown }).getMap === 'function'
  );
}

/**
 * The header view of a gRPC call: every text metadata entry as a header line (duplicates kept,
 * so a repeated token is refused), `-bin` entries left out, and the method's path for logs.
 */
function grpcRequestOf(metadata: GrpcMetadataLike, call: unknown): ApproovRequestLike {
  const rawHeaders: string[] = [];
  for (const [name, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) if (typeof value === 'string') rawHeaders.push(name, value);
  }
  const path = (call as { getPath?: () => unknown } | undefined)?.getPath?.();
  return { rawHeaders, method: 'POST', url: typeof path === 'string' ? path : '' };
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}
