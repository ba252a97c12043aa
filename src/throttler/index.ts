// `nestjs-approov/throttler`: rate limits per Approov device for @nestjs/throttler. Only this entry
// imports @nestjs/throttler, so an app without it never loads it. ApproovService comes through the
// package's own entry, so the guard uses the very service (and token cache) the app's module holds.
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApproovService, type ApproovRequestLike } from 'nestjs-approov';

/** Trackers of verified devices start with this; an IP address never does. */
export const APPROOV_DEVICE_TRACKER_PREFIX = 'approov-device:';

/**
 * A ThrottlerGuard that counts each Approov device apart: the tracker is the device (`did`) of a
 * request whose token verifies, and the client IP (ThrottlerGuard's own tracker) otherwise. It
 * verifies the token itself, through ApproovService and its cache of verified tokens, so the
 * bucket does not depend on whether ApproovGuard ran first, and a forged or expired token (or one
 * without `did`) is counted on its IP, never on a device's bucket. The tracker holds a hash of the
 * `did`, not the `did`. Binding and message signatures are ApproovGuard's to check: a captured
 * token that is still valid counts on its own device's bucket.
 */
@Injectable()
export class ApproovThrottlerGuard extends ThrottlerGuard {
  @Inject(ApproovService) protected readonly approov!: ApproovService;

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const verified = await this.approov.verifyRequest(req as ApproovRequestLike);
    const did = verified.ok ? verified.claims.did : undefined;
    if (typeof did === 'string' && did !== '')
      return APPROOV_DEVICE_TRACKER_PREFIX + createHash('sha256').update(did).digest('base64url');
    return super.getTracker(req);
  }
}
