import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApproovGuard } from './approov.guard.js';
import { ApproovMessageSigningMetadata } from './approov-message-signing.metadata.js';
import { checkMessageSigningOptions, type ApproovMessageSigningOptions } from './core/message-signing/options.js';

/**
 * Requires a valid Approov installation message signature (RFC 9421, key from the token's `ipk`)
 * on a handler or a class; the handler wins. Options override the module's `messageSigning`
 * defaults field by field. It also attaches ApproovGuard, so the route is never served unchecked.
 */
export function ApproovMessageSigning(options?: ApproovMessageSigningOptions): MethodDecorator & ClassDecorator {
  const checked = checkMessageSigningOptions(options, 'options', (option, why) => {
    throw new TypeError(`@ApproovMessageSigning(): ${option} ${why}`);
  });
  return applyDecorators(ApproovMessageSigningMetadata(checked), UseGuards(ApproovGuard));
}
