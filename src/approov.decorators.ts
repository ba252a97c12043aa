import {
  applyDecorators,
  createParamDecorator,
  UseGuards,
  type ExecutionContext,
} from '@nestjs/common';
import { claimsOfContext } from './approov.claims.js';
import { ApproovGuard } from './approov.guard.js';
import {
  AllowApproovStatusMetadata,
  ApproovBindingMetadata,
  SigningRulesMetadata,
  SkipApproovMetadata,
} from './approov.metadata.js';
import { checkApproovStatusList } from './core/http/approov-status.js';
import { noteAccountSignatureRoute } from './core/check/route-signature.js';
import { isHeaderName } from './core/http/request-headers.js';
import {
  checkMessageSigningOptions,
  type ApproovMessageSigningOptions,
} from './core/message-signing/options.js';
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
 * Requires a valid Approov message signature (RFC 9421) on a handler or a class; the handler wins:
 * `install` (key from the token's `ipk`) by default, `account` or both with `accept` and `match`.
 * Options override the module's `messageSigning` defaults field by field. It also attaches
 * ApproovGuard, so the route is never served unchecked.
 */
export function ApproovMessageSigning(
  options?: ApproovMessageSigningOptions,
): MethodDecorator & ClassDecorator {
  const checked = checkMessageSigningOptions(options, 'options', (option, why) => {
    throw new TypeError(`@ApproovMessageSigning(): ${option} ${why}`);
  });
  if (checked.accept?.includes('account') === true) noteAccountSignatureRoute();
  return applyDecorators(SigningRulesMetadata(checked), UseGuards(ApproovGuard));
}

/**
 * Serves a request that has no Approov token when its `Approov-Status` is one of these (for
 * example `'no_network'`): the reject is still logged and reported, with the status. Any client
 * can send any status, so use it only where serving an unproven client is acceptable.
 * It also attaches ApproovGuard.
 */
export function AllowApproovStatus(...statuses: string[]): MethodDecorator & ClassDecorator {
  const checked = checkApproovStatusList(statuses, (why) => {
    throw new TypeError(`@AllowApproovStatus(): ${why}`);
  });
  if (checked.length === 0) throw new TypeError('@AllowApproovStatus(): name at least one status.');
  return applyDecorators(AllowApproovStatusMetadata(checked), UseGuards(ApproovGuard));
}

/** Opts a handler or controller out of a global ApproovGuard (`protectAllRoutes: true`). */
export const SkipApproov = (): MethodDecorator & ClassDecorator => SkipApproovMetadata(true);

/**
 * The claims the guard verified for this call (`@ApproovClaims()`), or one of them
 * (`@ApproovClaims('did')`), in controllers, resolvers, gateways and microservice handlers;
 * undefined where no check passed. Never read from the request body or a message payload.
 */
// Typed here: the inferred type names ParameterDecoratorOptions, which Nest 11 does not have.
export const ApproovClaims: (claim?: keyof ApproovTokenClaims) => ParameterDecorator =
  createParamDecorator(
    (claim: keyof ApproovTokenClaims | undefined, context: ExecutionContext): unknown => {
      const claims = claimsOfContext(context);
      return claim === undefined ? claims : claims?.[claim];
    },
  );
