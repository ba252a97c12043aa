import {
  IntrinsicException,
  PayloadTooLargeException,
  RequestTimeoutException,
  ServiceUnavailableException,
  UnauthorizedException,
  type HttpException,
} from '@nestjs/common';
import {
  UNAVAILABLE_FAILURE_CODES,
  type ApproovContextType,
  type ApproovFailureCode,
} from './core/failure.js';

/**
 * What every reject throws, whichever guard or strategy rejects: the one 401 when the client is at
 * fault, a 503 with no reason when the server cannot decide, a 413 when the body is longer than
 * the module reads (a size says nothing about the client, and names the limit to raise), a 408
 * when it did not arrive within `bodyTimeoutSec`. Built
 * without a stack trace: a reject is an expected answer, not a fault, and capturing the stack made
 * a flood of forged tokens dearer than valid traffic.
 */
export function createApproovRejection(code: ApproovFailureCode): HttpException {
  return withoutStack(() => {
    if (UNAVAILABLE_FAILURE_CODES.has(code))
      return new ServiceUnavailableException({ statusCode: 503, message: 'Service Unavailable' });
    if (code === 'request_body_too_large')
      return new PayloadTooLargeException({ statusCode: 413, message: 'Payload Too Large' });
    if (code === 'request_body_timeout')
      return new RequestTimeoutException({ statusCode: 408, message: 'Request Timeout' });
    return new UnauthorizedException({ statusCode: 401, message: 'Unauthorized' });
  });
}

/**
 * A reject in a GraphQL resolver: Apollo and Mercurius both turn it into one error with this
 * message and `extensions.code`. Built without stack frames (Apollo outside production echoes an
 * error's stack, here its first line alone), and not logged by Nest: an IntrinsicException is an
 * expected answer.
 */
export class ApproovGraphQLRejection extends IntrinsicException {
  readonly extensions: { readonly code: string };

  constructor(message: string, code: string) {
    super(message);
    this.extensions = Object.freeze({ code });
  }
}

/** Constructors of the optional transports' exceptions, loaded by the module when the app has such handlers. */
interface ContextExceptions {
  /** @nestjs/websockets' WsException: the only error its filter sends back with its own message. */
  WsException?: new (error: string | object) => Error;
  /** @nestjs/microservices' RpcException: its error object goes back to the client as is. */
  RpcException?: new (error: string | object) => Error;
}

const contextExceptions: ContextExceptions = {};

/** Loads the exception classes of the contexts the app serves; each package is already loaded by Nest. */
export async function loadContextExceptions(contexts: {
  ws: boolean;
  rpc: boolean;
}): Promise<void> {
  if (contexts.ws && contextExceptions.WsException === undefined) {
    contextExceptions.WsException = (await import('@nestjs/websockets')).WsException;
  }
  if (contexts.rpc && contextExceptions.RpcException === undefined) {
    contextExceptions.RpcException = (await import('@nestjs/microservices')).RpcException;
  }
}

// gRPC status codes (grpc-js `status`), typed here so the library needs no gRPC import.
const GRPC_UNAUTHENTICATED = 16;
const GRPC_UNAVAILABLE = 14;

/**
 * The reject in the shape of the handler's context, with the same message everywhere and no reason
 * in it: HTTP's 401/503/413, a GraphQL error with `UNAUTHENTICATED` (`SERVICE_UNAVAILABLE`), a
 * WebSocket `exception` event, a gRPC status `UNAUTHENTICATED` (`UNAVAILABLE`).
 */
export function createContextRejection(
  code: ApproovFailureCode,
  context: ApproovContextType,
  grpc: boolean,
): Error {
  if (context === 'http') return createApproovRejection(code);
  const unavailable = UNAVAILABLE_FAILURE_CODES.has(code);
  const message = unavailable ? 'Service Unavailable' : 'Unauthorized';
  return withoutStack(() => {
    switch (context) {
      case 'graphql':
        return new ApproovGraphQLRejection(
          message,
          unavailable ? 'SERVICE_UNAVAILABLE' : 'UNAUTHENTICATED',
        );
      case 'ws': {
        const { WsException } = contextExceptions;
        return WsException !== undefined
          ? new WsException(message)
          : new IntrinsicException(message);
      }
      default: {
        const { RpcException } = contextExceptions;
        const error = grpc
          ? { code: unavailable ? GRPC_UNAVAILABLE : GRPC_UNAUTHENTICATED, message }
          : message;
        return RpcException !== undefined
          ? new RpcException(error)
          : new IntrinsicException(message);
      }
    }
  });
}

function withoutStack<T>(build: () => T): T {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
