import { UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApproovGuard, ApproovMessageSigning, ApproovService, SkipApproov } from 'nestjs-approov';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';

// The guard remembers requests that passed, so that running twice on one request (global guard
// plus the one @ApproovBinding attaches) verifies once. A pass must vouch only for the same rules.

class Resolvers {
  plain(): void {}
  signed(): void {}
}
const signed = Object.getOwnPropertyDescriptor(Resolvers.prototype, 'signed')!;
ApproovMessageSigning({ requireInstallationKey: true })(Resolvers.prototype, 'signed', signed);

type FakeRequest = {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: Record<string, string>;
};
const contextFor = (handler: 'plain' | 'signed', request: FakeRequest) =>
  ({
    getHandler: () => Resolvers.prototype[handler],
    getClass: () => Resolvers,
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => request }),
  }) as unknown as ExecutionContext;
const requestWith = (token: string): FakeRequest => ({
  method: 'POST',
  url: '/graphql',
  rawHeaders: ['Host', '127.0.0.1', 'Approov-Token', token],
  headers: {},
});
const rejects = (run: () => boolean | Promise<boolean>): boolean => {
  try {
    run();
    return false;
  } catch (error) {
    return error instanceof UnauthorizedException;
  }
};

describe('ApproovGuard once-per-request memo', () => {
  const secret = createApproovSecret();
  const enforce = new ApproovGuard(new Reflector(), new ApproovService({ secret }));

  it('serves the same rules twice on one request after one pass', () => {
    const request = requestWith(createApproovToken({ secret }));
    expect(enforce.canActivate(contextFor('plain', request))).toBe(true);
    expect(enforce.canActivate(contextFor('plain', request))).toBe(true);
  });

  it('does not let a pass without message signing vouch for a route that requires it', () => {
    const request = requestWith(createApproovToken({ secret })); // no ipk, no signature headers
    expect(enforce.canActivate(contextFor('plain', request))).toBe(true);
    expect(rejects(() => enforce.canActivate(contextFor('signed', request)))).toBe(true);
  });

  it('does not let a monitor-mode failure vouch for an enforcing module', () => {
    const monitor = new ApproovGuard(
      new Reflector(),
      new ApproovService({
        secret: createApproovSecret(),
        mode: 'monitor',
        onFailure: () => undefined,
      }),
    );
    const request = requestWith('garbage');
    expect(monitor.canActivate(contextFor('plain', request))).toBe(true); // served: monitor mode
    expect(rejects(() => enforce.canActivate(contextFor('plain', request)))).toBe(true);
  });

  it("does not let one module's pass vouch for a module with another secret", () => {
    const otherSecret = createApproovSecret();
    const other = new ApproovGuard(new Reflector(), new ApproovService({ secret: otherSecret }));
    const request = requestWith(createApproovToken({ secret: otherSecret }));
    expect(other.canActivate(contextFor('plain', request))).toBe(true);
    expect(rejects(() => enforce.canActivate(contextFor('plain', request)))).toBe(true);
  });
});

describe('ApproovGuard route rules, read once per controller and handler', () => {
  const secret = createApproovSecret();
  const guard = new ApproovGuard(new Reflector(), new ApproovService({ secret }));

  // One handler function inherited by two controllers: only the class metadata tells them apart.
  class Base {
    list(): void {}
  }
  class Open extends Base {}
  class Skipped extends Base {}
  SkipApproov()(Skipped);
  const contextOf = (controller: object) =>
    ({
      getHandler: () => Base.prototype.list,
      getClass: () => controller,
      getType: () => 'http',
      switchToHttp: () => ({ getRequest: () => requestWith('garbage') }),
    }) as unknown as ExecutionContext;

  it('keeps an inherited handler skipped under one controller and protected under another', () => {
    for (let i = 0; i < 2; i++) {
      expect(guard.canActivate(contextOf(Skipped))).toBe(true);
      expect(rejects(() => guard.canActivate(contextOf(Open)))).toBe(true);
    }
  });
});
