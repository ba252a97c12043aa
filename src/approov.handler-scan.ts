import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { APPROOV_MODULE_EXTRAS } from './approov.constants.js';
import { isApproovGuard, readsTokenItsOwnWay } from './approov.guard.js';
import { readApproovRoute } from './approov.metadata.js';
import type { ApproovModuleExtras } from './approov.options.js';
import { loadContextExceptions } from './approov.rejection.js';
import { ApproovConfigurationError } from './core/errors.js';
import { captureHandshakes } from './core/http/handshakes.js';

// Metadata keys of @nestjs/websockets, @nestjs/microservices and @nestjs/graphql, read by name so
// that an app without those packages loads none of them.
const MESSAGE_MAPPING = 'websockets:message_mapping';
const MICROSERVICE_PATTERN = 'microservices:pattern';
const GRAPHQL_RESOLVER_NAME = 'graphql:resolver_name';

type HandlerKind = 'http' | 'graphql' | 'ws' | 'rpc' | 'grpc';

/** One handler of the app, as far as Approov protection goes. */
interface Handler {
  readonly name: string;
  readonly kind: HandlerKind;
  /** Guards on it or its class that are ApproovGuard or a subclass. */
  readonly approovGuards: readonly unknown[];
  readonly skipped: boolean;
  readonly bindingOrSigning: string | undefined;
  /** It checks message signatures (@ApproovMessageSigning on it or its class). */
  readonly signed: boolean;
}

/**
 * Reads every handler of the app at boot (HTTP routes, GraphQL resolvers, WebSocket gateway
 * messages, microservice patterns) and stops the boot, naming each handler and its fix, where the
 * module would otherwise be silently off: binding or message signing on a handler with no HTTP
 * request, the plain guard on a transport that carries no token, and, with `protectAllRoutes`,
 * a gateway or microservice handler that Nest's global guards may not reach. Then loads what the
 * guard needs for the contexts the app serves.
 */
@Injectable()
export class ApproovHandlerScan implements OnModuleInit {
  private readonly handlers: readonly Handler[];

  constructor(
    discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APPROOV_MODULE_EXTRAS) extras: ApproovModuleExtras,
  ) {
    const types = [...discovery.getControllers(), ...discovery.getProviders()]
      .map((wrapper) => wrapper.metatype)
      .filter((type): type is new (...args: never[]) => object => typeof type === 'function');
    this.handlers = [...new Set(types)].flatMap((type) => this.handlersOf(type));
    const problems = this.handlers.flatMap((handler) =>
      problemsOf(handler, extras.protectAllRoutes === true),
    );
    if (problems.length > 0) {
      throw new ApproovConfigurationError(
        `Approov cannot protect ${problems.length === 1 ? 'a handler' : `${problems.length} handlers`}:\n` +
          problems.map((problem) => `- ${problem}`).join('\n'),
      );
    }
  }

  /**
   * The handlers over HTTP that check message signatures, by the name Nest gives the route handler
   * it registers (`Controller.method`); a signed GraphQL resolver is served by its driver's route.
   */
  signedHandlerNames(): Set<string> {
    return new Set(
      this.handlers
        .filter(
          (handler) => handler.signed && (handler.kind === 'http' || handler.kind === 'graphql'),
        )
        .map((handler) => handler.name),
    );
  }

  async onModuleInit(): Promise<void> {
    const guarded = this.handlers.filter((h) => h.approovGuards.length > 0 && !h.skipped);
    const ws = guarded.some((handler) => handler.kind === 'ws');
    const rpc = guarded.some((handler) => handler.kind === 'rpc' || handler.kind === 'grpc');
    await loadContextExceptions({ ws, rpc });
    // A `ws` connection keeps no handshake request: remember each upgrade's, on the app's server.
    const server = ws ? this.adapterHost?.httpAdapter?.getHttpServer() : undefined;
    if (server !== undefined && server !== null) captureHandshakes(server);
  }

  private handlersOf(type: new (...args: never[]) => object): Handler[] {
    const prototype = type.prototype as Record<string, unknown>;
    const handlers: Handler[] = [];
    for (const name of this.scanner.getAllMethodNames(prototype)) {
      const method = prototype[name];
      if (typeof method !== 'function') continue;
      const kind = kindOf(method);
      if (kind === undefined) continue;
      const route = readApproovRoute(this.reflector, method, type);
      handlers.push({
        name: `${type.name}.${name}`,
        kind,
        approovGuards: route.guards.filter(isApproovGuard),
        skipped: route.skipped,
        signed: route.signing !== undefined,
        bindingOrSigning:
          route.signing !== undefined
            ? '@ApproovMessageSigning()'
            : route.binding !== undefined
              ? '@ApproovBinding()'
              : undefined,
      });
    }
    return handlers;
  }
}

function kindOf(method: object): HandlerKind | undefined {
  if (Reflect.getMetadata(MESSAGE_MAPPING, method) === true) return 'ws';
  const pattern: unknown = Reflect.getMetadata(MICROSERVICE_PATTERN, method);
  if (pattern !== undefined) {
    const first: unknown = Array.isArray(pattern) ? pattern[0] : pattern;
    // @GrpcMethod's pattern names the service and the rpc.
    return typeof first === 'object' && first !== null && 'rpc' in first && 'service' in first
      ? 'grpc'
      : 'rpc';
  }
  // @Query() and its kin set the name even when it is undefined (the method's name is used).
  if (Reflect.hasOwnMetadata(GRAPHQL_RESOLVER_NAME, method)) return 'graphql';
  if (
    Reflect.getMetadata(PATH_METADATA, method) !== undefined &&
    Reflect.getMetadata(METHOD_METADATA, method) !== undefined
  ) {
    return 'http';
  }
  return undefined;
}

const SKIP_FIX = 'or @SkipApproov() to serve it unchecked';
const OWN_GETREQUEST =
  'a subclass of ApproovGuard whose getRequest reads the token from your transport (docs/contexts.md)';

function problemsOf(handler: Handler, protectAllRoutes: boolean): string[] {
  const { name, kind } = handler;
  const overHttp = kind === 'http' || kind === 'graphql';
  if (!overHttp && handler.bindingOrSigning !== undefined) {
    return [
      `${handler.bindingOrSigning} on ${name}: binding and message signing check an HTTP request, ` +
        `and a ${kind === 'ws' ? 'WebSocket' : 'microservice'} message has none. Remove it; ` +
        '@UseGuards(ApproovGuard) still checks the token.',
    ];
  }
  if (handler.skipped || overHttp) return [];
  const ownSource = handler.approovGuards.some(readsTokenItsOwnWay);
  if (kind === 'rpc' && handler.approovGuards.length > 0 && !ownSource) {
    return [
      `ApproovGuard on ${name}: messages of transports other than gRPC carry no Approov token. ` +
        `Use ${OWN_GETREQUEST}, ${SKIP_FIX}.`,
    ];
  }
  if (protectAllRoutes && handler.approovGuards.length === 0) {
    return kind === 'ws'
      ? [
          `protectAllRoutes: ${name} is a WebSocket gateway handler, which Nest's global guards do ` +
            `not reach. Add @UseGuards(ApproovGuard) to it or to its gateway, ${SKIP_FIX}.`,
        ]
      : [
          `protectAllRoutes: ${name} is a microservice handler, which Nest's global guards reach ` +
            'only in a hybrid app connected with inheritAppConfig: true. Add ' +
            `@UseGuards(${kind === 'grpc' ? 'ApproovGuard' : OWN_GETREQUEST}) to it or to its ` +
            `controller, ${SKIP_FIX}.`,
        ];
  }
  return [];
}
