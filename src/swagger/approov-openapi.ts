import type {
  OperationObject,
  ParameterObject,
  ReferenceObject,
  ResponseObject,
  SecuritySchemeObject,
} from '@nestjs/swagger';

/** The name of the security scheme the Approov token is documented under. */
export const APPROOV_SECURITY_SCHEME = 'Approov-Token';

/** What one protected operation documents. */
export interface ApproovOperationSpec {
  /** The bound headers, in binding order. */
  readonly binding: readonly string[];
  /** Undefined on a route that checks no message signature. */
  readonly signing?: {
    /** Each signature of a request with a body must cover `content-digest`. */
    readonly requireContentDigest: boolean;
    /** The components each signature must cover, for the header descriptions. */
    readonly requiredComponents: readonly string[];
  };
}

/** The `apiKey` scheme of the token header. */
export function approovSecurityScheme(tokenHeader = APPROOV_SECURITY_SCHEME): SecuritySchemeObject {
  return {
    type: 'apiKey',
    in: 'header',
    name: tokenHeader,
    description: 'The Approov token the app attests with, a JWT.',
  };
}

/** The responses a protected operation can give, by status code (413 only on signed routes). */
export function approovResponses(signed: boolean): Record<string, ResponseObject> {
  return {
    '401': {
      description:
        'Unauthorized: no valid Approov token (or a binding or message signature that does not match).',
    },
    ...(signed
      ? {
          '413': {
            description:
              'Payload Too Large: the body is longer than the module reads to check its Content-Digest.',
          },
        }
      : {}),
    '503': { description: 'Service Unavailable: the Approov check could not decide.' },
  };
}

/** The header parameters of a protected operation: bound headers, then the signature headers. */
export function approovHeaderParameters(spec: ApproovOperationSpec): ParameterObject[] {
  const parameters = spec.binding.map((name) =>
    header(name, true, "Bound to the Approov token: its hash must match the token's `pay` claim."),
  );
  if (spec.signing !== undefined) {
    const covered = spec.signing.requiredComponents.join(', ');
    const digestRequired =
      spec.signing.requireContentDigest ||
      spec.signing.requiredComponents.includes('content-digest');
    parameters.push(
      header(
        'Signature',
        true,
        `HTTP message signature (RFC 9421), covering at least: ${covered}.`,
      ),
      header('Signature-Input', true, 'The covered components and parameters of `Signature`.'),
      header(
        'Content-Digest',
        digestRequired,
        digestRequired
          ? 'Digest of the body (RFC 9530), covered by the signature: required when there is a body.'
          : 'Digest of the body (RFC 9530): checked against the body when the signature covers it.',
      ),
    );
  }
  return parameters;
}

/**
 * Adds the token requirement, the responses and the headers to an operation, leaving what it
 * already documents: a requirement naming the scheme, a parameter of the same name and place
 * (header names compared case-insensitively), a response of the same code.
 */
export function addApproovToOperation(
  operation: OperationObject,
  spec: ApproovOperationSpec,
): void {
  const security = (operation.security ??= []);
  if (!security.some((requirement) => APPROOV_SECURITY_SCHEME in requirement)) {
    security.push({ [APPROOV_SECURITY_SCHEME]: [] });
  }
  const responses = (operation.responses ??= {});
  for (const [code, response] of Object.entries(approovResponses(spec.signing !== undefined))) {
    responses[code] ??= response;
  }
  const parameters = (operation.parameters ??= []);
  for (const parameter of approovHeaderParameters(spec)) {
    if (!parameters.some((known) => sameParameter(known, parameter))) parameters.push(parameter);
  }
}

function sameParameter(known: ParameterObject | ReferenceObject, added: ParameterObject): boolean {
  return (
    'in' in known && known.in === added.in && known.name.toLowerCase() === added.name.toLowerCase()
  );
}

/** A header name as usually written (`authorization` to `Authorization`): names are case-insensitive. */
export function displayHeaderName(name: string): string {
  return name.replace(
    /(^|-)([a-z])/g,
    (_match, dash: string, letter: string) => dash + letter.toUpperCase(),
  );
}

function header(name: string, required: boolean, description: string): ParameterObject {
  return {
    name: displayHeaderName(name),
    in: 'header',
    required,
    description,
    schema: { type: 'string' },
  };
}
