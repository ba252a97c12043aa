import { applyDecorators, createParamDecorator, UseGuards, type ExecutionContext } from '@nestjs/common';
import { ApproovGuard } from './approov.guard.js';
import { ApproovBindingMetadata, SkipApproovMetadata } from './approov.metadata.js';
import type { ApproovTokenClaims } from './core/token/claims.js';

const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Requires the Approov token to be bound to these headers, concatenated in this order
 * (no argument: the module's `bindingHeaders`). On a handler or a class; the handler wins.
 * It also attaches ApproovGuard, so the route is never served without the binding check.
 */
export function ApproovBinding(...headers: string[]): MethodDecorator & ClassDecorator {
  for (const name of headers) {
    if (typeof name !== 'string' || !HEADER_NAME_RE.test(name)) {
      throw new TypeError(`@ApproovBinding(): "${String(name)}" is not a valid HTTP header name`);
    }
  }
  return applyDecorators(
    ApproovBindingMetadata(Object.freeze(headers.map((name) => name.toLowerCase()))),
    UseGuards(ApproovGuard),
  );
}

/** Opts a handler or controller out of a global ApproovGuard (`protectAllRoutes: true`). */
export const SkipApproov = (): MethodDecorator & ClassDecorator => SkipApproovMetadata(true);

/** The verified claims (`@ApproovClaims()`), or one of them (`@ApproovClaims('did')`). */
export const ApproovClaims = createParamDecorator(
  (claim: keyof ApproovTokenClaims | undefined, context: ExecutionContext): unknown => {
    const claims = context.switchToHttp().getRequest<{ approov?: ApproovTokenClaims }>().approov;
    return claim === undefined ? claims : claims?.[claim];
  },
);
