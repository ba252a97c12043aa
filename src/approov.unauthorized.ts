import { UnauthorizedException } from '@nestjs/common';

/**
 * The one 401 of every reject, whichever guard or strategy rejects, built without a stack trace:
 * a reject is an expected answer, not a fault, and capturing the stack cost about 10 us per
 * reject under Nest (more than the HMAC), which made a flood of forged tokens dearer than valid traffic.
 */
export function approovUnauthorized(): UnauthorizedException {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new UnauthorizedException({ statusCode: 401, message: 'Unauthorized' });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
