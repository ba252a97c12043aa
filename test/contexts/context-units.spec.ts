import {
  IntrinsicException,
  UseGuards,
  type ExecutionContext,
  Injectable,
  PayloadTooLargeException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { WsException } from '@nestjs/websockets';
import { RpcException } from '@nestjs/microservices';
import {
  ApproovGuard,
  ApproovService,
  getApproovClaims,
  type ApproovFailure,
  type ApproovRequestLike,
} from 'nestjs-approov';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import {
  ApproovGraphQLRejection,
  createContextRejection,
  loadContextExceptions,
} from '../../src/approov.rejection.js';
import { resolveApproovCall } from '../../src/approov.context.js';

// The context layer on fake execution contexts: the reject each context gets, where claims are
// found, and what the guard does where a context carries no token.

const secret = createApproovSecret();

/** A fake ExecutionContext of `type` with these arguments, for a handler of `Handlers`. */
function contextOf(
  type: string,
  args: unknown[],
  handler = Handlers.prototype.plain,
): ExecutionContext {
  return {
    getType: () => type,
    getArgs: () => args,
    getArgByIndex: (index: number) => args[index],
    getHandler: () => handler,
    getClass: () => Handlers,
    switchToHttp: () => ({ getRequest: () => args[0], getResponse: () => args[1] }),
    switchToWs: () => ({
      getClient: () => args[0],
      getData: () => args[1],
      getPattern: () => args[2],
    }),
    switchToRpc: () => ({ getData: () => args[0], getContext: () => args[1] }),
  } as unknown as ExecutionContext;
}

class TcpContext {
  constructor(readonly args: unknown[]) {}
}

@Injectable()
class HeaderGuard extends ApproovGuard {
  protected override getRequest(): ApproovRequestLike {
    return { headers: {} };
  }
}

class Handlers {
  plain(): void {}
  ownSource(): void {}
}
UseGuards(HeaderGuard)(
  Handlers.prototype,
  'ownSource',
  Object.getOwnPropertyDescriptor(Handlers.prototype, 'ownSource')!,
);

const thrownBy = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('createContextRejection', () => {
  beforeAll(() => loadContextExceptions({ ws: true, rpc: true }));

  it.each([
    ['token_missing', 'UNAUTHENTICATED', 'Unauthorized'],
    ['keyset_unavailable', 'SERVICE_UNAVAILABLE', 'Service Unavailable'],
  ] as const)('gives GraphQL %s as %s, with no stack frame', (code, extension, message) => {
    const rejection = createContextRejection(code, 'graphql', false) as ApproovGraphQLRejection;
    expect(rejection).toBeInstanceOf(IntrinsicException);
    expect(rejection.message).toBe(message);
    expect(rejection.extensions).toEqual({ code: extension });
    expect(rejection.stack).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['token_expired', 'Unauthorized'],
    ['replay_store_unavailable', 'Service Unavailable'],
  ] as const)('gives a WebSocket %s as a WsException %s', (code, message) => {
    const rejection = createContextRejection(code, 'ws', false);
    expect(rejection).toBeInstanceOf(WsException);
    expect((rejection as WsException).getError()).toBe(message);
  });

  it.each([
    ['token_signature_invalid', 16, 'Unauthorized'],
    ['keyset_unavailable', 14, 'Service Unavailable'],
  ] as const)('gives gRPC %s as status %i', (code, status, message) => {
    const rejection = createContextRejection(code, 'rpc', true) as RpcException;
    expect(rejection).toBeInstanceOf(RpcException);
    expect(rejection.getError()).toEqual({ code: status, message });
  });

  it('gives another transport the message alone', () => {
    const rejection = createContextRejection('token_missing', 'rpc', false) as RpcException;
    expect(rejection.getError()).toBe('Unauthorized');
  });

  it('keeps HTTP its 413 for a body too long to check', () => {
    expect(createContextRejection('request_body_too_large', 'http', false)).toBeInstanceOf(
      PayloadTooLargeException,
    );
  });
});

describe('getApproovClaims', () => {
  const service = new ApproovService({ secret });
  const guard = new ApproovGuard(new Reflector(), service);
  const request = () => ({
    method: 'POST',
    url: '/graphql',
    rawHeaders: ['Approov-Token', createApproovToken({ secret, claims: { did: 'd-1' } })],
    headers: {},
  });

  it('finds the claims from the request, the GraphQL context or the execution context', () => {
    const req = request();
    const context = contextOf('graphql', [{}, {}, { req }, {}]);
    expect(guard.canActivate(context)).toBe(true);
    expect(getApproovClaims(req)?.did).toBe('d-1');
    expect(getApproovClaims({ req })?.did).toBe('d-1');
    expect(getApproovClaims(context)?.did).toBe('d-1');
  });

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['a request no guard passed', request()],
    ['an object with an approov field', { approov: { did: 'spoofed' } }],
    ['a GraphQL context whose request no guard passed', { req: { approov: { did: 'spoofed' } } }],
  ])('gives undefined for %s', (_name, value) => {
    expect(getApproovClaims(value as object)).toBeUndefined();
  });
});

describe('contexts that carry no token', () => {
  const failures: ApproovFailure[] = [];
  const service = new ApproovService({ secret, onFailure: (failure) => failures.push(failure) });
  const guard = new ApproovGuard(new Reflector(), service);
  beforeAll(() => loadContextExceptions({ ws: true, rpc: true }));
  beforeEach(() => {
    failures.length = 0;
  });

  it('names a GraphQL context without its HTTP request, and refuses the call', () => {
    const context = contextOf('graphql', [{}, {}, { user: 'x' }, {}]);
    expect(resolveApproovCall(context).unsupported).toContain('keep `req` in the GraphQL context');
    expect(thrownBy(() => guard.canActivate(context))).toBeInstanceOf(ApproovGraphQLRejection);
    expect(failures.map((f) => [f.code, f.context])).toEqual([['context_unsupported', 'graphql']]);
  });

  it('names a ws connection whose handshake it never saw, and refuses the message', () => {
    const context = contextOf('ws', [{ _socket: {} }, { n: 1 }, 'hello']);
    expect(resolveApproovCall(context).unsupported).toContain("share the app's HTTP server");
    expect(thrownBy(() => guard.canActivate(context))).toBeInstanceOf(WsException);
    expect(failures.map((f) => [f.code, f.context, f.method, f.path])).toEqual([
      ['context_unsupported', 'ws', 'WS', 'hello'],
    ]);
  });

  it('names the transport of a message that carries no token, and refuses it', () => {
    const context = contextOf('rpc', [{ approov: { did: 'x' } }, new TcpContext([])]);
    expect(resolveApproovCall(context).unsupported).toContain(
      'TCP messages carry no Approov token',
    );
    expect(thrownBy(() => guard.canActivate(context))).toBeInstanceOf(RpcException);
    expect(failures.map((f) => [f.code, f.path])).toEqual([
      ['context_unsupported', 'Handlers.plain'],
    ]);
  });

  it('leaves such a message to a guard subclass on the handler that reads its token', () => {
    const context = contextOf('rpc', [{}, new TcpContext([])], Handlers.prototype.ownSource);
    expect(guard.canActivate(context)).toBe(true);
    expect(failures).toEqual([]);
  });
});
