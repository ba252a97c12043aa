import {
  Injectable,
  Logger,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { recordApproovClaims } from './approov.claims.js';
import { APPROOV_LOG_CONTEXT } from './approov.constants.js';
import { resolveApproovCall, type ApproovCall } from './approov.context.js';
import { readApproovRoute } from './approov.metadata.js';
import { createContextRejection } from './approov.rejection.js';
import { ApproovService } from './approov.service.js';
import type { ApproovRouteRules, ApproovVerdict } from './core/check/approov-check.js';
import type { ApproovCallInfo } from './core/check/reject-report.js';
import { UNAVAILABLE_FAILURE_CODES, type ApproovFailureCode } from './core/failure.js';
import { loggablePathOf, requestMethodOf, type ApproovRequestLike } from './core/http/request.js';

const NO_BINDING: readonly string[] = Object.freeze([]);
const NO_HEADERS: ApproovRequestLike = Object.freeze({ headers: Object.freeze({}) });

/** A route's Approov metadata, read once: it is fixed once the app has started. */
interface RouteRules extends ApproovRouteRules {
  readonly skipped: boolean;
  /** `Controller.handler`, for messages. */
  readonly name: string;
  /** The handler carries a subclass of ApproovGuard with its own getRequest: it reads the token. */
  readonly ownTokenSource: boolean;
}

/**
 * Serves a request only with a valid Approov token and, on routes marked @ApproovBinding or
 * @ApproovMessageSigning, a token bound to the declared headers and a valid message signature.
 * Works in every context Nest serves: HTTP routes, GraphQL resolvers (the HTTP request of the
 * GraphQL context), WebSocket gateways (the connection's handshake request, judged again for every
 * message) and gRPC (the call metadata); see docs/contexts.md. Every client-fault reject is the
 * same 401 (or its context's equivalent); "cannot decide" is a 503. Verified claims are kept for
 * @ApproovClaims() and getApproovClaims(), and on HTTP at `request.approov`. Subclass it to
 * change when it runs (`shouldSkip`), where the token is read (`getRequest`) or what it throws
 * (`createRejection`).
 *
 * `canActivate` returns a Promise only when a check really is asynchronous; the token-only path
 * answers synchronously.
 */
@Injectable()
export class ApproovGuard implements CanActivate {
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);

  constructor(
    protected readonly reflector: Reflector,
    protected readonly service: ApproovService,
  ) {}

  // Per controller class, then handler: a handler inherited by two controllers may carry other class metadata.
  private readonly routeRules = new WeakMap<object, WeakMap<object, RouteRules>>();
  // Handlers already named in an error line: one line per handler, not one per message.
  private readonly reportedUncheckable = new WeakSet<object>();

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.shouldSkip(context)) return true;
    const rules = this.rulesOf(context);
    const call = resolveApproovCall(context);
    const request =
      this.getRequest === ApproovGuard.prototype.getRequest
        ? call.request
        : this.getRequest(context);
    if (request === undefined) return this.uncheckable(call, rules, context);
    const info = call.type === 'http' ? undefined : callInfoOf(call, request, context);
    const verdict = this.service.approovCheck.check(request, rules, info);
    // Only a step that really waits (a keyset refetch, a body, a shared replay store) gives a Promise.
    return verdict instanceof Promise
      ? verdict.then((settled) => this.conclude(settled, call, request, context))
      : this.conclude(verdict, call, request, context);
  }

  /** The claims are kept for the call; a reject is thrown (a failure served anyway just passes). */
  private conclude(
    verdict: ApproovVerdict,
    call: ApproovCall,
    request: ApproovRequestLike,
    context: ExecutionContext,
  ): boolean {
    if (verdict.ok) {
      if (call.overHttp) request.approov = verdict.claims;
      recordApproovClaims(call, context, verdict.claims);
      return true;
    }
    if (verdict.serve) {
      recordApproovClaims(call, context, null);
      return true;
    }
    if (call.type === 'ws' && !UNAVAILABLE_FAILURE_CODES.has(verdict.code)) {
      // The connection's token cannot change: no later message on it can pass.
      closeAfterReply(call.anchor);
    }
    if (verdict.code === 'request_body_timeout' && call.type === 'http')
      closeAfterResponse(context);
    throw this.createRejection(verdict.code, context);
  }

  /**
   * A context with no place for a token (a TCP message, say). The plain guard leaves it to a guard
   * subclass on the handler that reads the token its own way; without one the call is refused,
   * reported like any reject, and the handler named once in an error line with the fix.
   */
  private uncheckable(call: ApproovCall, rules: RouteRules, context: ExecutionContext): boolean {
    if (rules.ownTokenSource && this.getRequest === ApproovGuard.prototype.getRequest) return true;
    const handler = context.getHandler();
    if (!this.reportedUncheckable.has(handler)) {
      this.reportedUncheckable.add(handler);
      this.logger.error(`ApproovGuard cannot check ${rules.name}: ${call.unsupported ?? ''}`);
    }
    const info = callInfoOf(call, NO_HEADERS, context);
    const verdict = this.service.approovCheck.reportUncheckable(NO_HEADERS, info);
    return this.conclude(verdict, call, NO_HEADERS, context);
  }

  /**
   * True to let the request through unchecked. Default: the route carries `@SkipApproov()` and
   * neither `@ApproovBinding` nor `@ApproovMessageSigning` (those outrank it). Example, a health check:
   *
   * ```ts
   * protected override shouldSkip(context: ExecutionContext): boolean {
   *   return context.switchToHttp().getRequest().url === '/healthz' || super.shouldSkip(context);
   * }
   * ```
   */
  protected shouldSkip(context: ExecutionContext): boolean {
    return this.rulesOf(context).skipped;
  }

  /**
   * Where the token is read: by default the HTTP request (Express or Fastify, or the one under a
   * GraphQL resolver), a WebSocket connection's handshake request, or a gRPC call's metadata;
   * undefined in a context that has none (TCP, NATS...). Override it to read the token from such a
   * transport, returning the headers that carry it (docs/contexts.md):
   *
   * ```ts
   * protected override getRequest(context: ExecutionContext): ApproovRequestLike {
   *   const token = context.switchToRpc().getContext<NatsContext>().getHeaders()?.get('approov-token');
   *   return { headers: token ? { 'approov-token': token } : {} };
   * }
   * ```
   */
  protected getRequest(context: ExecutionContext): ApproovRequestLike | undefined {
    return resolveApproovCall(context).request;
  }

  /**
   * What the guard throws for a reject, in the context's own shape: on HTTP the one 401
   * (`{"statusCode":401,"message":"Unauthorized"}`), a 503 with no reason for codes in
   * UNAVAILABLE_FAILURE_CODES, a 413 for a body too long; in GraphQL an error with
   * `extensions.code` `UNAUTHENTICATED` (or `SERVICE_UNAVAILABLE`); on a WebSocket a WsException;
   * on gRPC an RpcException with status `UNAUTHENTICATED` (or `UNAVAILABLE`). The code is already
   * logged and reported; keep it out of the response.
   */
  protected createRejection(code: ApproovFailureCode, context: ExecutionContext): Error {
    const call = resolveApproovCall(context);
    return createContextRejection(code, call.type, call.grpc === true);
  }

  /** The route's metadata, read with the reflector on its first request and remembered. */
  private rulesOf(context: ExecutionContext): RouteRules {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.routeRules.get(controller);
    const known = byHandler?.get(handler);
    if (known !== undefined) return known;
    const route = readApproovRoute(this.reflector, handler, controller);
    const rules: RouteRules = {
      skipped: route.skipped,
      bindingHeaders:
        route.binding === undefined
          ? NO_BINDING
          : route.binding.length > 0
            ? route.binding
            : this.service.defaultBindingHeaders,
      signing: route.signing,
      allowStatuses: route.allowStatuses,
      name: `${controller.name}.${handler.name}`,
      ownTokenSource: route.guards.some(readsTokenItsOwnWay),
    };
    if (byHandler === undefined) this.routeRules.set(controller, (byHandler = new WeakMap()));
    byHandler.set(handler, rules);
    return rules;
  }
}

/** ApproovGuard or a subclass of it, as a class or an instance. @internal */
export function isApproovGuard(guard: unknown): boolean {
  const type = typeof guard === 'function' ? guard : (guard as object | null)?.constructor;
  return (
    type === ApproovGuard ||
    (type as { prototype?: unknown } | undefined)?.prototype instanceof ApproovGuard
  );
}

/** A subclass of ApproovGuard (class or instance) that overrides getRequest. @internal */
export function readsTokenItsOwnWay(guard: unknown): boolean {
  const type = (typeof guard === 'function' ? guard : (guard as object | null)?.constructor) as
    Type<ApproovGuard> | undefined;
  const getRequestOf = (prototype: object) => (prototype as { getRequest?: unknown }).getRequest;
  return (
    type !== undefined &&
    type.prototype instanceof ApproovGuard &&
    getRequestOf(type.prototype) !== getRequestOf(ApproovGuard.prototype)
  );
}

// Log text is kept to a short printable word: a message pattern could be anything.
const PRINTABLE = /[^\x21-\x7e]/g;

/** How a call that is not a plain HTTP route is checked once and reported. */
function callInfoOf(
  call: ApproovCall,
  request: ApproovRequestLike,
  context: ExecutionContext,
): ApproovCallInfo {
  switch (call.type) {
    case 'graphql':
      return {
        context: 'graphql',
        key: request,
        method: requestMethodOf(request) || 'UNKNOWN',
        path: loggablePathOf(request),
      };
    case 'ws':
      // One message: its arguments array is shared by the guards of this message only.
      return {
        context: 'ws',
        key: context.getArgs(),
        method: 'WS',
        path: patternText(context.switchToWs() as { getPattern?: () => unknown }),
      };
    default:
      return {
        context: call.type,
        key: call.anchor,
        method: 'RPC',
        path:
          call.grpc === true
            ? loggablePathOf(request)
            : `${context.getClass().name}.${context.getHandler().name}`,
      };
  }
}

function patternText(host: { getPattern?: () => unknown }): string {
  const pattern = typeof host.getPattern === 'function' ? host.getPattern() : undefined;
  const text = typeof pattern === 'string' ? pattern : JSON.stringify(pattern ?? '');
  return (text ?? '').replace(PRINTABLE, '_').slice(0, 128);
}

/**
 * Asks the server to close the connection once the 408 has gone out (RFC 9110: a 408 means the
 * server stops waiting), so a client that stalls its body loses its socket, not only its share of
 * the body budget. Express hands the guard Node's response, Fastify its reply (`raw` is Node's).
 */
function closeAfterResponse(context: ExecutionContext): void {
  const response = context.switchToHttp().getResponse<{ raw?: unknown } | undefined>();
  const node = (response?.raw ?? response) as
    { headersSent?: boolean; setHeader?: (name: string, value: string) => unknown } | undefined;
  if (node?.headersSent === false && typeof node.setHeader === 'function')
    node.setHeader('Connection', 'close');
}

/**
 * Closes a WebSocket connection once the reject's `exception` event has gone out: socket.io's
 * `disconnect(true)`, or close code 1008 (policy violation) for a `ws` connection.
 */
function closeAfterReply(client: object): void {
  setImmediate(() => {
    const socket = client as {
      disconnect?: (close: boolean) => void;
      close?: (code: number, reason: string) => void;
      handshake?: unknown;
    };
    if (socket.handshake !== undefined && typeof socket.disconnect === 'function') {
      socket.disconnect(true);
    } else if (typeof socket.close === 'function') {
      socket.close(1008, 'Unauthorized');
    }
  });
}
