import type { ExecutionContext } from '@nestjs/common';
import { resolveApproovCall, type ApproovCall } from './approov.context.js';
import { RequestMark } from './core/http/request.js';
import type { ApproovTokenClaims } from './core/token/claims.js';

/** The claims a WebSocket message passed with, and which message it was. */
interface MessageClaims {
  readonly claims: Readonly<ApproovTokenClaims>;
  readonly data: unknown;
  readonly pattern: unknown;
}

// Under private symbols, on objects the server made: no request, payload or message can name them.
const callClaims = new RequestMark<Readonly<ApproovTokenClaims>>('approov.claims');
const messageClaims = new RequestMark<MessageClaims | null>('approov.message-claims');

/**
 * Keeps the claims the guard verified for this call. A WebSocket connection serves many
 * messages, so its claims are kept with the message they passed for, and only that message
 * reads them; `null` forgets them (a later message served without a pass).
 */
export function recordApproovClaims(
  call: ApproovCall,
  context: ExecutionContext,
  claims: Readonly<ApproovTokenClaims> | null,
): void {
  if (call.type === 'ws') {
    messageClaims.set(
      call.anchor,
      claims === null ? null : { claims, data: messageData(context), pattern: pattern(context) },
    );
  } else if (claims !== null) {
    callClaims.set(call.anchor, claims);
  }
}

/** Keeps the claims verified for an HTTP request (the Passport strategy's pass). */
export function recordRequestClaims(request: object, claims: Readonly<ApproovTokenClaims>): void {
  callClaims.set(request, claims);
}

/**
 * The claims ApproovGuard (or the `approov` Passport strategy) verified for this call, or
 * undefined when none passed (a skipped or unprotected handler, a reject served in monitor mode).
 * Give it the ExecutionContext in an interceptor, pipe or guard, or the request: the HTTP request
 * (Express or Fastify, `context.req` in a GraphQL resolver) or the GraphQL context itself. Never
 * read from anything a client can write: a payload's `approov` field is not claims.
 */
export function getApproovClaims(
  requestOrContext: object | null | undefined,
): Readonly<ApproovTokenClaims> | undefined {
  if (requestOrContext === null || requestOrContext === undefined) return undefined;
  if (isExecutionContext(requestOrContext)) return claimsOfContext(requestOrContext);
  const claims = callClaims.get(requestOrContext);
  if (claims !== undefined) return claims;
  // A GraphQL context object: its HTTP request holds the claims.
  const request = (requestOrContext as { req?: unknown }).req;
  return typeof request === 'object' && request !== null ? callClaims.get(request) : undefined;
}

/** What @ApproovClaims() reads: the claims of this handler call, in any context. */
export function claimsOfContext(
  context: ExecutionContext,
): Readonly<ApproovTokenClaims> | undefined {
  const call = resolveApproovCall(context);
  if (call.type !== 'ws') return callClaims.get(call.anchor);
  const message = messageClaims.get(call.anchor);
  return message !== undefined &&
    message !== null &&
    message.data === messageData(context) &&
    message.pattern === pattern(context)
    ? message.claims
    : undefined;
}

function messageData(context: ExecutionContext): unknown {
  return context.switchToWs().getData<unknown>();
}

function pattern(context: ExecutionContext): unknown {
  const host = context.switchToWs() as { getPattern?: () => unknown };
  return typeof host.getPattern === 'function' ? host.getPattern() : undefined;
}

function isExecutionContext(value: object): value is ExecutionContext {
  return (
    typeof (value as Partial<ExecutionContext>).getType === 'function' &&
    typeof (value as Partial<ExecutionContext>).getArgs === 'function' &&
    typeof (value as Partial<ExecutionContext>).switchToHttp === 'function'
  );
}
