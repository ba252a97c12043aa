import { ServiceUnavailableException, UnauthorizedException, type HttpException } from '@nestjs/common';
import { UNAVAILABLE_FAILURE_CODES, type ApproovFailureCode } from './core/failure.js';

/**
 * What every reject throws, whichever guard or strategy rejects: the one 401 when the client is at
 * fault, a 503 with no reason when the server cannot decide. Built without a stack trace: a reject
 * is an expected answer, not a fault, and capturing the stack made a flood of forged tokens dearer
 * than valid traffic.
 */
export function createApproovRejection(code: ApproovFailureCode): HttpException {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return UNAVAILABLE_FAILURE_CODES.has(code)
      ? new ServiceUnavailableException({ statusCode: 503, message: 'Service Unavailable' })
      : new UnauthorizedException({ statusCode: 401, message: 'Unauthorized' });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
