import { applyDecorators, createParamDecorator, UseGuards, type ExecutionContext } from '@nestjs/common';
import { ApproovGuard } from './approov.guard.js';
import { ApproovBindingMetadata, SigningRulesMetadata, SkipApproovMetadata } from './approov.metadata.js';
import { isHeaderName } from './core/http/request-headers.js';
import { checkMessageSigningOptions, type ApproovMessageSigningOptions } from './core/message-signing/options.js';
import type { ApproovTokenClaims } from './core/token/claims.js';

/**
 * Requires the Approov token to be bound to these headers, concatenated in this order
 * (no argument: the module's `bindingHeaders`). On a handler or a class; the handler wins.
 * It also attaches ApproovGuard, so the route is never served without the binding check.
 */
export function ApproovBinding(...headers: string[]): MethodDecorator & ClassDecorator {
  for (const name of headers) {
    if (!isHeaderName(name)) {
      throw new TypeError(`@ApproovBinding(): "${String(name)}" is not a valid HTTP header name`);
    }
  }
  return applyDecorators(
    ApproovBindingMetadata(Object.freeze(headers.map((name) => name.toLowerCase()))),
    UseGuards(ApproovGuard),
  );
}

/**
 * Requires a valid Approov installation message signature (RFC 9421, key from the token's `ipk`)
 * on a handler or a class; the handler wins. Options override the module's `messageSigning`
 * defaults field by field. It also attaches ApproovGuard, so the route is never served unchecked.
 */
export function ApproovMessageSigning(options?: ApproovMessageSigningOptions): MethodDecorator & ClassDecorator {
  const checked = checkMessageSigningOptions(options, 'options', (option, why) => {
    throw new TypeError(`@ApproovMessageSigning(): ${option} ${why}`);
  });
  return applyDecorators(SigningRulesMetadata(checked), UseGuards(ApproovGuard));
}

/** Opts a handler or controller out of a global ApproovGuard (`protectAllRoutes: true`). */
export const SkipApproov = (): MethodDecorator & ClassDecorator => SkipApproovMetadata(true);

/** The verified claims (`@ApproovClaims()`), or one of them (`@ApproovClaims('did')`). */
// Typed here: the inferred type names ParameterDecoratorOptions, which Nest 11 does not have.
export const ApproovClaims: (claim?: keyof ApproovTokenClaims) => ParameterDecorator = createParamDecorator(
  (claim: keyof ApproovTokenClaims | undefined, context: ExecutionContext): unknown => {
    const claims = context.switchToHttp().getRequest<{ approov?: ApproovTokenClaims }>().approov;
    return claim === undefined ? claims : claims?.[claim];
  },
);
