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
