import { Reflector } from '@nestjs/core';
import type { ApproovMessageSigningOptions } from './core/message-signing/options.js';

/** Metadata key of @ApproovMessageSigning, namespaced like the others. */
export const APPROOV_MESSAGE_SIGNING_METADATA = 'approov:message-signing';

/** The route's checked message-signing options (only the fields it gave). */
export const ApproovMessageSigningMetadata = Reflector.createDecorator<Readonly<ApproovMessageSigningOptions>>({
  key: APPROOV_MESSAGE_SIGNING_METADATA,
});
