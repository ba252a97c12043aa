import { jest } from '@jest/globals';
import { inspect } from 'node:util';
import {
  ForbiddenException,
  ServiceUnavailableException,
  UnauthorizedException,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ApproovBinding,
  ApproovGuard,
  ApproovMessageSigning,
  ApproovService,
  SkipApproov,
  UNAVAILABLE_FAILURE_CODES,
  type ApproovFailureCode,
  type ApproovRequestLike,
} from 'nestjs-approov';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';

// The guard's protected hooks (shouldSkip, getRequest, createRejection) and its sync/async shape,
// exercised on fake execution contexts; the HTTP behaviour on both adapters is in the e2e suites.

class Routes {
  plain(): void {}
  skipped(): void {}
  skippedButBound(): void {}
  signed(): void {}
}
const decorate = (decorator: MethodDecorator, name: keyof Routes): void => {
  decorator(Routes.prototype, name, Object.getOwnPropertyDescriptor(Routes.prototype, name)!);
};
decorate(SkipApproov(), 'skipped');
decorate(SkipApproov(), 'skippedButBound');
decorate(ApproovBinding('Authorization'), 'skippedButBound');
decorate(ApproovMessageSigning({ requireInstallationKey: true }), 'signed');

type FakeRequest = ApproovRequestLike & { rawHeaders: string[] };
const contextFor = (handler: keyof Routes, request: FakeRequest) =>
  ({
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => request }),
  }) as unknown as ExecutionContext;
const requestWith = (...headers: string[]): FakeRequest => ({
  method: 'GET',
  url: '/x',
  rawHeaders: headers,
  headers: {},
});

const thrownBy = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
};

class RejectingGuard extends ApproovGuard {
  rejectionFor(code: ApproovFailureCode): Error {
    return this.createRejection(code, contextFor('plain', requestWith()));
  }
}

describe('ApproovGuard hooks', () => {
  const secret = createApproovSecret();
  const service = new ApproovService({ secret });
  const guard = new RejectingGuard(new Reflector(), service);
  const validRequest = (): FakeRequest =>
    requestWith('Approov-Token', createApproovToken({ secret }));

  describe('createRejection', () => {
    it('builds the one 401 body for a client-fault code', () => {
      const rejection = guard.rejectionFor('token_signature_invalid');
      expect(rejection).toBeInstanceOf(UnauthorizedException);
      expect((rejection as UnauthorizedException).getStatus()).toBe(401);
      expect((rejection as UnauthorizedException).getResponse()).toEqual({
        statusCode: 401,
        message: 'Unauthorized',
      });
    });

    it.each(['replay_store_unavailable', 'keyset_unavailable'] as const)(
      'builds a 503 with no reason for %s',
      (code) => {
        expect(UNAVAILABLE_FAILURE_CODES.has(code)).toBe(true);
        const rejection = guard.rejectionFor(code);
        expect(rejection).toBeInstanceOf(ServiceUnavailableException);
        expect((rejection as ServiceUnavailableException).getResponse()).toEqual({
          statusCode: 503,
          message: 'Service Unavailable',
        });
      },
    );

    it('carries no stack frames, and leaves Error.stackTraceLimit as it found it', () => {
      const before = Error.stackTraceLimit;
      expect(guard.rejectionFor('token_missing').stack).not.toMatch(/\n\s+at /);
      expect(Error.stackTraceLimit).toBe(before);
      expect(new Error('after').stack).toMatch(/\n\s+at /);
    });

    it('is what canActivate throws, so a subclass can replace it', () => {
      class ForbiddingGuard extends ApproovGuard {
        protected override createRejection(code: ApproovFailureCode): Error {
          return new ForbiddenException(`custom ${code.length}`);
        }
      }
      const forbidding = new ForbiddingGuard(new Reflector(), service);
      const thrown = thrownBy(() => forbidding.canActivate(contextFor('plain', requestWith())));
      expect(thrown).toBeInstanceOf(ForbiddenException);
    });

    it('is not thrown in monitor mode: the request is served', () => {
      const monitor = new ApproovGuard(
        new Reflector(),
        new ApproovService({ secret, mode: 'monitor', onFailure: () => undefined }),
      );
      expect(monitor.canActivate(contextFor('plain', requestWith()))).toBe(true);
    });
  });

  describe('shouldSkip', () => {
    it('skips a @SkipApproov route by default', () => {
      expect(guard.canActivate(contextFor('skipped', requestWith()))).toBe(true);
    });

    it('does not skip a @SkipApproov route that also requires binding', () => {
      expect(
        thrownBy(() => guard.canActivate(contextFor('skippedButBound', requestWith()))),
      ).toBeInstanceOf(UnauthorizedException);
    });

    it('lets a subclass skip by its own rule', () => {
      class HealthSkippingGuard extends ApproovGuard {
        protected override shouldSkip(context: ExecutionContext): boolean {
          return (
            context.switchToHttp().getRequest<FakeRequest>().url === '/healthz' ||
            super.shouldSkip(context)
          );
        }
      }
      const skipping = new HealthSkippingGuard(new Reflector(), service);
      expect(skipping.canActivate(contextFor('plain', { ...requestWith(), url: '/healthz' }))).toBe(
        true,
      );
      expect(
        thrownBy(() => skipping.canActivate(contextFor('plain', requestWith()))),
      ).toBeInstanceOf(UnauthorizedException);
    });
  });

  describe('getRequest', () => {
    it('lets a subclass find the request elsewhere and puts the claims on it', () => {
      const elsewhere = validRequest();
      class ElsewhereGuard extends ApproovGuard {
        protected override getRequest(): ApproovRequestLike {
          return elsewhere;
        }
      }
      const found = new ElsewhereGuard(new Reflector(), service);
      expect(found.canActivate(contextFor('plain', requestWith()))).toBe(true);
      expect(elsewhere.approov).toMatchObject({ exp: expect.any(Number) });
    });
  });

  describe('synchronous unless a check is asynchronous', () => {
    it('answers the token-only path with a plain boolean, not a Promise', () => {
      const result = guard.canActivate(contextFor('plain', validRequest()));
      expect(result).toBe(true);
      expect(result).not.toBeInstanceOf(Promise);
    });

    it('throws a token reject synchronously', () => {
      expect(thrownBy(() => guard.canActivate(contextFor('plain', requestWith())))).toBeInstanceOf(
        UnauthorizedException,
      );
    });

    it('keeps a signing route synchronous when the signature check answers synchronously', () => {
      const thrown = thrownBy(() => guard.canActivate(contextFor('signed', validRequest())));
      expect(thrown).toBeInstanceOf(UnauthorizedException); // no ipk: rejected, and not through a Promise
    });

    describe('when the signature check answers with a Promise', () => {
      const asyncService = (
        result: Awaited<ReturnType<ApproovService['verifyMessageSignature']>>,
      ) => {
        const instance = new ApproovService({ secret });
        jest
          .spyOn(instance.approovCheck.signatures, 'verify')
          .mockImplementation(() => Promise.resolve(result));
        return new ApproovGuard(new Reflector(), instance);
      };

      it('resolves to true and puts the claims on the request once it passes', async () => {
        const request = validRequest();
        const result = asyncService({ ok: true, signatures: [] }).canActivate(
          contextFor('signed', request),
        );
        expect(result).toBeInstanceOf(Promise);
        await expect(result).resolves.toBe(true);
        expect(request.approov).toMatchObject({ exp: expect.any(Number) });
      });

      it('rejects with the one 401 when it fails', async () => {
        const result = asyncService({ ok: false, code: 'install_signature_invalid' }).canActivate(
          contextFor('signed', validRequest()),
        );
        await expect(result).rejects.toBeInstanceOf(UnauthorizedException);
      });

      it('rejects with a 503 when the server cannot decide', async () => {
        const result = asyncService({ ok: false, code: 'replay_store_unavailable' }).canActivate(
          contextFor('signed', validRequest()),
        );
        await expect(result).rejects.toBeInstanceOf(ServiceUnavailableException);
      });
    });
  });

  describe('what the guard keeps on a request', () => {
    // A getRequest override may hand the guard an object that takes no new properties.
    it.each([
      ['frozen', Object.freeze as <T>(value: T) => T],
      ['sealed', Object.seal as <T>(value: T) => T],
      ['non-extensible', Object.preventExtensions as <T>(value: T) => T],
    ] as const)(
      'answers the one 401, not a TypeError, for a %s request without a token',
      (_name, lock) => {
        const request = lock(requestWith());
        expect(thrownBy(() => guard.canActivate(contextFor('plain', request)))).toBeInstanceOf(
          UnauthorizedException,
        );
      },
    );

    it('serves a sealed request that has room for its claims, and remembers the pass for a second guard', () => {
      const request = Object.seal({ ...validRequest(), approov: undefined as unknown });
      expect(guard.canActivate(contextFor('plain', request))).toBe(true);
      expect(request.approov).toMatchObject({ exp: expect.any(Number) });
      const verify = jest.spyOn(service.approovCheck.verifier, 'verifyRequestWithRefetch');
      try {
        expect(guard.canActivate(contextFor('plain', request))).toBe(true);
        expect(verify).not.toHaveBeenCalled();
      } finally {
        verify.mockRestore();
      }
    });

    it('in monitor mode serves a frozen request without a token, and reports it once across two guards', () => {
      const failures: string[] = [];
      const monitorService = new ApproovService({
        secret,
        mode: 'monitor',
        onFailure: (failure) => failures.push(failure.code),
      });
      const monitor = new ApproovGuard(new Reflector(), monitorService);
      const request = Object.freeze(requestWith());
      expect(monitor.canActivate(contextFor('plain', request))).toBe(true);
      expect(monitor.canActivate(contextFor('plain', request))).toBe(true);
      expect(failures).toEqual(['token_missing']);
    });

    it('prints its pass, not the module behind it, when the request is logged in depth', () => {
      const request = validRequest();
      expect(guard.canActivate(contextFor('plain', request))).toBe(true);
      const printed = inspect(request, { depth: Infinity, showHidden: true });
      expect(printed).toContain('[ApproovPass]');
      expect(printed).not.toContain('ApproovService');
      expect(printed).not.toContain('ApproovVerifier');
    });
  });
});
