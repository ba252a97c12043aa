import { UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApproovGuard, type ApproovService } from 'nestjs-approov';

class ExposedGuard extends ApproovGuard {
  reject(): boolean {
    return this.handleFailure('token_signature_invalid', { method: 'GET', url: '/x' });
  }
}

const guardReporting = (monitored: boolean) =>
  new ExposedGuard(new Reflector(), { reportFailure: () => monitored } as unknown as ApproovService);

describe('the guard reject (cheap 401)', () => {
  it('throws the one 401 body as an UnauthorizedException', () => {
    let thrown: unknown;
    try {
      guardReporting(false).reject();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnauthorizedException);
    expect((thrown as UnauthorizedException).getStatus()).toBe(401);
    expect((thrown as UnauthorizedException).getResponse()).toEqual({ statusCode: 401, message: 'Unauthorized' });
  });

  it('carries no stack frames, and leaves Error.stackTraceLimit as it found it', () => {
    const before = Error.stackTraceLimit;
    let thrown: Error | undefined;
    try {
      guardReporting(false).reject();
    } catch (error) {
      thrown = error as Error;
    }
    expect(thrown?.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('after').stack).toMatch(/\n\s+at /);
  });

  it('serves the request in monitor mode instead of throwing', () => {
    expect(guardReporting(true).reject()).toBe(true);
  });
});
