import type { ApproovContextType, ApproovFailure, ApproovFailureCode } from '../failure.js';
import { readApproovStatus, readTokenHeaderStatus } from '../http/approov-status.js';
import {
  RequestMark,
  loggablePathOf,
  nodeRequestOf,
  requestMethodOf,
  traceIdOf,
  type ApproovRequestLike,
} from '../http/request.js';
import type { ApproovLog } from './log.js';
import { clientAddressOf } from '../http/raw-body.js';
import {
  RejectLogThrottle,
  type RejectLogOptions,
  type RejectLogTimers,
  type RejectSource,
} from './reject-log.js';

/**
 * Where a check runs when it is not a plain HTTP route: the context type for the report, the
 * per-call object one report is kept on (a WebSocket connection's handshake serves every message,
 * so it cannot be), and what the log line names instead of the HTTP method and path.
 */
export interface ApproovCallInfo {
  readonly context: ApproovContextType;
  /** The object that stands for this one call: two guards on it check and report it once. */
  readonly key: object;
  readonly method: string;
  readonly path: string;
}

export interface RejectReportOptions {
  mode: 'enforce' | 'monitor';
  /** Sanitised `Approov-Status` values that let a request without a token through, module-wide. */
  allowApproovStatus: readonly string[];
  /** The token header, where an SDK may write its status instead of a token. Default Approov-Token. */
  tokenHeader?: string;
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
  private readonly tokenHeaderLower: string;

  constructor(
    private readonly options: RejectReportOptions,
    private readonly log: ApproovLog,
  ) {
    this.tokenHeaderLower = (options.tokenHeader ?? 'Approov-Token').toLowerCase();
    const interval = options.rejectLog.intervalSec;
    this.rejectLog = new RejectLogThrottle(
      options.rejectLog.lines,
      interval,
      (code, count, elapsedSec, sources) =>
        log(
          'warn',
          `${code}: ${count} more in the last ${Math.round(elapsedSec)} s (one line per code per ${interval} s)${sources}`,
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
    call?: ApproovCallInfo,
  ): boolean {
    // A body past the bound, or not in time, was not read to the end: no mode can serve it as checked.
    const monitored =
      this.options.mode === 'monitor' &&
      code !== 'request_body_too_large' &&
      code !== 'request_body_timeout';
    // Only a request without a token can be let through by its status: in Approov-Status, or in
    // the token header in place of a token.
    const approovStatus =
      code === 'token_missing' || code === 'token_status'
        ? this.statusOf(code, request)
        : undefined;
    const allowed =
      approovStatus !== undefined &&
      (this.options.allowApproovStatus.includes(approovStatus) ||
        routeStatuses.includes(approovStatus));
    if (!this.markReported(call?.key ?? request)) return monitored || allowed;
    const logLine = this.rejectLog.admit(code, () => sourceOf(request, call));
    // A reject counted into a summary, with no hook to feed, needs nothing more from the request.
    if (logLine || this.options.onFailure !== undefined) {
      const failure = failureOf(code, request, call, monitored);
      if (allowed) failure.allowedByStatus = true;
      this.report(failure, request, logLine);
    }
    return monitored || allowed;
  }

  /** Reports a signed request served although the replay store could not answer (`replay.failOpen`). */
  reportFailedOpen(request: ApproovRequestLike, call?: ApproovCallInfo): void {
    if (!this.markReported(call?.key ?? request)) return;
    const logLine = this.rejectLog.admit('replay_store_unavailable', () => sourceOf(request, call));
    if (!logLine && this.options.onFailure === undefined) return;
    const failure = failureOf(
      'replay_store_unavailable',
      request,
      call,
      this.options.mode === 'monitor',
    );
    failure.failedOpen = true;
    this.report(failure, request, logLine);
  }

  /** Writes the counts still held back and stops the summary timers (at shutdown). */
  close(): void {
    this.rejectLog.close();
  }

  /** The client's Approov status: from the token header for `token_status`, else Approov-Status. */
  private statusOf(code: ApproovFailureCode, request: ApproovRequestLike): string | undefined {
    return code === 'token_status'
      ? readTokenHeaderStatus(nodeRequestOf(request), this.tokenHeaderLower)
      : readApproovStatus(nodeRequestOf(request));
  }

  /** Marks the call reported by this instance: false when it already was. */
  private markReported(key: object): boolean {
    if (this.reported.get(key) === true) return false;
    this.reported.set(key, true);
    return true;
  }

  /** The log line when `logLine` (code, method, path without query, trace id, Approov-Status), then onFailure. */
  private report(failure: ApproovFailure, request: ApproovRequestLike, logLine: boolean): void {
    const traceId = traceIdOf(request);
    if (traceId !== undefined) failure.traceId = traceId;
    const approovStatus = this.statusOf(failure.code, request);
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
        `${outcome} ${failure.code} ${failure.context} ${failure.method} ${failure.path}` +
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

/** A failure's report: its code and where, by the call's own terms when it is not an HTTP route. */
function failureOf(
  code: ApproovFailureCode,
  request: ApproovRequestLike,
  call: ApproovCallInfo | undefined,
  monitored: boolean,
): ApproovFailure {
  return {
    code,
    context: call?.context ?? 'http',
    method: call?.method ?? (requestMethodOf(request) || 'UNKNOWN'),
    path: call?.path ?? loggablePathOf(request),
    monitored,
  };
}

/** Where a reject came from, for the summary line: its route, client address and trace id. */
function sourceOf(request: ApproovRequestLike, call: ApproovCallInfo | undefined): RejectSource {
  const method = call?.method ?? (requestMethodOf(request) || 'UNKNOWN');
  const traceId = traceIdOf(request);
  return {
    route: `${method} ${call?.path ?? loggablePathOf(request)}`,
    client: clientAddressOf(nodeRequestOf(request)),
    ...(traceId !== undefined ? { traceId } : {}),
  };
}
