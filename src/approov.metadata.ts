import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import {
  APPROOV_BINDING_METADATA,
  APPROOV_SIGNING_METADATA,
  APPROOV_SKIP_METADATA,
  APPROOV_STATUS_METADATA,
} from './approov.constants.js';
import type { ApproovMessageSigningOptions } from './core/message-signing/options.js';

/** Lower-cased binding header names; an empty list means the module's `bindingHeaders`. */
export const ApproovBindingMetadata = Reflector.createDecorator<readonly string[]>({
  key: APPROOV_BINDING_METADATA,
});
export const SkipApproovMetadata = Reflector.createDecorator<boolean>({
  key: APPROOV_SKIP_METADATA,
});
/** The route's checked message-signing rules (only the fields it gave). */
export const SigningRulesMetadata = Reflector.createDecorator<
  Readonly<ApproovMessageSigningOptions>
>({
  key: APPROOV_SIGNING_METADATA,
});
/** The checked `Approov-Status` values a route lets through without a token. */
export const AllowApproovStatusMetadata = Reflector.createDecorator<readonly string[]>({
  key: APPROOV_STATUS_METADATA,
});

/**
 * A handler's Approov metadata, read the one way the guard, the boot scan and the OpenAPI helper
 * all read it: handler first, then its class.
 */
export interface ApproovRouteMetadata {
  /** `@SkipApproov()` and neither binding nor signing: those outrank it. */
  readonly skipped: boolean;
  readonly binding: readonly string[] | undefined;
  readonly signing: Readonly<ApproovMessageSigningOptions> | undefined;
  readonly allowStatuses: readonly string[] | undefined;
  /** The guards `@UseGuards` put on the handler, then on its class: classes or instances. */
  readonly guards: readonly unknown[];
}

/** Reads a handler's Approov metadata (handler wins over its class). @internal */
export function readApproovRoute(
  reflector: Reflector,
  handler: object,
  controller: object,
): ApproovRouteMetadata {
  const targets = [handler, controller] as Array<(...args: never[]) => unknown>;
  const binding = reflector.getAllAndOverride(ApproovBindingMetadata, targets);
  const signing = reflector.getAllAndOverride(SigningRulesMetadata, targets);
  return {
    skipped:
      reflector.getAllAndOverride(SkipApproovMetadata, targets) === true &&
      binding === undefined &&
      signing === undefined,
    binding,
    signing,
    allowStatuses: reflector.getAllAndOverride(AllowApproovStatusMetadata, targets),
    guards: targets.flatMap(guardsOf),
  };
}

/** The guards @UseGuards put on a class or handler: classes or instances. @internal */
export function guardsOf(target: object): unknown[] {
  const guards: unknown = Reflect.getMetadata(GUARDS_METADATA, target);
  return Array.isArray(guards) ? guards : [];
}
