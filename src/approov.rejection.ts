import {
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
  type HttpException,
} from '@nestjs/common';
import { UNAVAILABLE_FAILURE_CODES, type ApproovFailureCode } from './core/failure.js';

/**
 * What every reject throws, whichever guard or strategy rejects: the one 401 when the client is at
 * fault, a 503 with no reason when the server cannot decide, a 413 when the body is longer than
 * the module reads (a size says nothing about the client, and names the limit to raise). Built without a stack trace: a reject
 * is an expected answer, not a fault, and capturing the stack made a flood of forged tokens dearer
 * than valid traffic.
 */
export function createApproovRejection(code: ApproovFailureCode): HttpException {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    if (UNAVAILABLE_FAILURE_CODES.has(code))
      return new ServiceUnavailableException({ statusCode: 503, message: 'Service Unavailable' });
    if (code === 'request_body_too_large')
      return new PayloadTooLargeException({ statusCode: 413, message: 'Payload Too Large' });
    return new UnauthorizedException({ statusCode: 401, message: 'Unauthorized' });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
