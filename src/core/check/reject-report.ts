import type { ApproovFailure, ApproovFailureCode } from '../failure.js';
import { readApproovStatus } from '../http/approov-status.js';
import {
  RequestMark,
  loggablePathOf,
  nodeRequestOf,
  requestMethodOf,
  traceIdOf,
  type ApproovRequestLike,
} from '../http/request.js';
import type { ApproovLog } from './log.js';
import { RejectLogThrottle, type RejectLogOptions, type RejectLogTimers } from './reject-log.js';

export interface RejectReportOptions {
  mode: 'enforce' | 'monitor';
  /** Sanitised `Approov-Status` values that let a request without a token through, module-wide. */
  allowApproovStatus: readonly string[];
  rejectLog: Required<RejectLogOptions>;
  onFailure?: (failure: ApproovFailure) => void;
  /** The reject log's clock and timers; injectable for tests. */
  timers?: RejectLogTimers;
}

/**
 * Decides whether a failed request is served anyway (monitor mode, or an allowed Approov-Status
 * on a request without a token) and reports it once per request: a log line (or a count in a
 * later summary line, see the rejectLog option), then onFailure.
 */
export class RejectReporter {
  // One report per request: in monitor mode a request can be judged again by another guard.
  private readonly reported = new RequestMark<true>('approov.reported');
  private readonly rejectLog: RejectLogThrottle;

  constructor(
    private readonly options: RejectReportOptions,
    private readonly log: ApproovLog,
  ) {
    const interval = options.rejectLog.intervalSec;
    this.rejectLog = new RejectLogThrottle(
      options.rejectLog.lines,
      interval,
      (code, count, elapsedSec) =>
        log(
          'warn',
          `${code}: ${count} more in the last ${Math.round(elapsedSec)} s (one line per code per ${interval} s)`,
        ),
      options.timers,
    );
  }

  /**
   * Reports a reject once per request, and answers whether to serve the request anyway: in
   * monitor mode, or when a request without a token sent a status the module or the route allows.
   */
  reportReject(
    code: ApproovFailureCode,
    request: ApproovRequestLike,
    routeStatuses: readonly string[] = [],
  ): boolean {
    // A body past the bound was not read to the end: no mode can serve it as checked.
    const monitored = this.options.mode === 'monitor' && code !== 'request_body_too_large';
    // Only a request without a token can be let through by its Approov-Status.
    const approovStatus =
      code === 'token_missing' ? readApproovStatus(nodeRequestOf(request)) : undefined;
    const allowed =
      approovStatus !== undefined &&
      (this.options.allowApproovStatus.includes(approovStatus) ||
        routeStatuses.includes(approovStatus));
    if (!this.markReported(request)) return monitored || allowed;
    const logLine = this.rejectLog.admit(code);
    // A reject counted into a summary, with no hook to feed, needs nothing more from the request.
    if (logLine || this.options.onFailure !== undefined) {
      const failure: ApproovFailure = {
        code,
        method: requestMethodOf(request) || 'UNKNOWN',
        path: loggablePathOf(request),
        monitored,
      };
      if (allowed) failure.allowedByStatus = true;
      this.report(failure, request, logLine);
    }
    return monitored || allowed;
  }

  /** Reports a signed request served although the replay store could not answer (`replay.failOpen`). */
  reportFailedOpen(request: ApproovRequestLike): void {
    if (!this.markReported(request)) return;
    const logLine = this.rejectLog.admit('replay_store_unavailable');
    if (!logLine && this.options.onFailure === undefined) return;
    const failure: ApproovFailure = {
      code: 'replay_store_unavailable',
      method: requestMethodOf(request) || 'UNKNOWN',
      path: loggablePathOf(request),
      monitored: this.options.mode === 'monitor',
      failedOpen: true,
    };
    this.report(failure, request, logLine);
  }

  /** Writes the counts still held back and stops the summary timers (at shutdown). */
  close(): void {
    this.rejectLog.close();
  }

  /** Marks the request reported by this instance: false when it already was. */
  private markReported(request: ApproovRequestLike): boolean {
    if (this.reported.get(request) === true) return false;
    this.reported.set(request, true);
    return true;
  }

  /** The log line when `logLine` (code, method, path without query, trace id, Approov-Status), then onFailure. */
  private report(failure: ApproovFailure, request: ApproovRequestLike, logLine: boolean): void {
    const traceId = traceIdOf(request);
    if (traceId !== undefined) failure.traceId = traceId;
    const approovStatus = readApproovStatus(nodeRequestOf(request));
    if (approovStatus !== undefined) failure.approovStatus = approovStatus;
    if (logLine) {
      const outcome = failure.failedOpen
        ? 'failed open'
        : failure.allowedByStatus
          ? 'allowed by status'
          : failure.monitored
            ? 'monitor: would reject'
            : 'rejected';
      this.log(
        'warn',
        `${outcome} ${failure.code} ${failure.method} ${failure.path}` +
          (traceId !== undefined ? ` trace=${traceId}` : '') +
          (approovStatus !== undefined ? ` status=${approovStatus}` : ''),
      );
    }
    const onFailure = this.options.onFailure;
    if (onFailure !== undefined) {
      try {
        onFailure(failure);
      } catch (error) {
        // A broken metrics hook must not turn a 401 into a 500, nor leak what it threw.
        this.log('error', `onFailure hook threw ${(error as Error)?.name ?? 'an error'}`);
      }
    }
  }
}
