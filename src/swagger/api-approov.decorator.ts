import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import {
  APPROOV_SECURITY_SCHEME,
  approovHeaderParameters,
  approovResponses,
  type ApproovOperationSpec,
} from './approov-openapi.js';

export interface ApiApproovOptions {
  /** The bound headers to document, as `@ApproovBinding()` names them (its default: ['Authorization']). */
  binding?: string[];
  /**
   * Document the message-signature headers (`Signature`, `Signature-Input`, `Content-Digest`).
   * Content-Digest is marked required with `requireContentDigest: true` or when
   * `requiredComponents` (default `@method`, `@target-uri`, `approov-token`) lists `content-digest`.
   */
  messageSigning?: boolean | { requireContentDigest?: boolean; requiredComponents?: string[] };
}

const DEFAULT_COMPONENTS = ['@method', '@target-uri', 'approov-token'];

/**
 * Documents an operation (or every operation of a controller) as ApproovGuard protects it: the
 * `Approov-Token` security requirement, the 401 and 503 responses (413 with message signing) and
 * the bound and signature headers. `addApproovToDocument` finds all this from the app by itself
 * and adds nothing twice, so both can be used together.
 */
export function ApiApproov(options: ApiApproovOptions = {}): MethodDecorator & ClassDecorator {
  const signing = options.messageSigning;
  const spec: ApproovOperationSpec = {
    binding: options.binding ?? [],
    signing:
      signing === undefined || signing === false
        ? undefined
        : {
            requireContentDigest: signing !== true && signing.requireContentDigest === true,
            requiredComponents:
              (signing === true ? undefined : signing.requiredComponents) ?? DEFAULT_COMPONENTS,
          },
  };
  return applyDecorators(
    ApiSecurity(APPROOV_SECURITY_SCHEME),
    ...Object.entries(approovResponses(spec.signing !== undefined)).map(([status, response]) =>
      ApiResponse({ status: Number(status), description: response.description }),
    ),
    ...approovHeaderParameters(spec).map(({ name, required, description, schema }) =>
      ApiHeader({ name, required, description, schema }),
    ),
  );
}
