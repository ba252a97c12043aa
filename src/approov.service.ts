import { Inject, Injectable, Logger } from '@nestjs/common';
import { APPROOV_LOG_CONTEXT, APPROOV_MODULE_OPTIONS } from './approov.constants.js';
import type { ApproovModuleOptions } from './approov-options.interface.js';
import { resolveApproovConfig } from './core/approov-config.js';
import { ApproovVerifier, type ApproovCheckResult } from './core/token/verifier.js';
import type { ApproovFailure, ApproovFailureCode } from './core/failure.js';
import type { HeaderSource } from './core/http/request-headers.js';
import { ApproovMessageSigningCheck } from './approov-message-signing.js';

/** What the service needs of a request, on Express and on Fastify alike. */
export interface ApproovRequestLike extends HeaderSource {
  method?: string;
  url?: string;
  originalUrl?: string;
  /** Fastify wraps the Node request here. */
  raw?: HeaderSource & { url?: string };
  approov?: unknown;
}

// Trace ids are echoed into logs: keep them short and printable so they cannot forge log lines.
const TRACE_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Holds the verifier built once from the options (secrets parsed at boot, so bad configuration
 * stops the app before it serves) and reports rejects. Shared by ApproovGuard and ApproovStrategy.
 */
@Injectable()
export class ApproovService {
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);
  readonly verifier: ApproovVerifier;
  /** Lower-cased headers that `@ApproovBinding()` with no argument binds to. */
  readonly defaultBindingHeaders: readonly string[];
  readonly mode: 'enforce' | 'monitor';
  /** Installation message-signature checks for routes marked @ApproovMessageSigning. */
  readonly messageSigning: ApproovMessageSigningCheck;
  private readonly onFailure?: (failure: ApproovFailure) => void;
  // One report per request: in monitor mode a request can be judged again by another guard
  // (a global ApproovGuard, the one @ApproovBinding attaches, AuthGuard('approov')).
  private readonly reported = new WeakSet<object>();

  constructor(@Inject(APPROOV_MODULE_OPTIONS) options: ApproovModuleOptions) {
    const config = resolveApproovConfig(options ?? {});
    this.verifier = new ApproovVerifier(config.verifier);
    this.defaultBindingHeaders = config.bindingHeaders;
    this.mode = config.mode;
    this.messageSigning = new ApproovMessageSigningCheck(
      this.verifier.tokenHeader,
      config.verifier.clockToleranceSec ?? 0,
      config.messageSigning,
    );
    this.onFailure = options?.onFailure;
  }

  /** Verifies the token of `request` and, when given, its binding to `bindingHeaders`. */
  verifyRequest(request: ApproovRequestLike, bindingHeaders?: readonly string[]): ApproovCheckResult {
    const source = request.raw?.rawHeaders !== undefined ? request.raw : request;
    return this.verifier.verifyRequest(source, bindingHeaders);
  }

  /**
   * Logs one line (code, method, path without query, trace id) and calls onFailure.
   * Returns true when the request should be served anyway (monitor mode).
   */
  reportFailure(code: ApproovFailureCode, request: ApproovRequestLike): boolean {
    const monitored = this.mode === 'monitor';
    if (this.reported.has(request)) return monitored;
    this.reported.add(request);
    const failure: ApproovFailure = {
      code,
      method: request.method ?? 'UNKNOWN',
      path: pathOf(request),
      monitored,
    };
    const traceId = traceIdOf(request);
    if (traceId !== undefined) failure.traceId = traceId;

    this.logger.warn(
      `${monitored ? 'monitor: would reject' : 'rejected'} ${code} ${failure.method} ${failure.path}` +
        (traceId !== undefined ? ` trace=${traceId}` : ''),
    );
    if (this.onFailure !== undefined) {
      try {
        this.onFailure(failure);
      } catch (error) {
        // A broken metrics hook must not turn a 401 into a 500, nor leak what it threw.
        this.logger.error(`onFailure hook threw ${(error as Error)?.name ?? 'an error'}`);
      }
    }
    return monitored;
  }
}

function pathOf(request: ApproovRequestLike): string {
  const url = request.originalUrl ?? request.url ?? request.raw?.url ?? '';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  // Query strings may carry secrets and are dropped; control characters would forge log lines.
  return path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)).slice(0, 512);
}

function traceIdOf(request: ApproovRequestLike): string | undefined {
  const source = request.raw?.rawHeaders !== undefined ? request.raw : request;
  const raw = source.rawHeaders;
  let value: string | undefined;
  if (raw !== undefined) {
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.toLowerCase() === 'approov-traceid') value = raw[i + 1];
    }
  } else {
    const header = source.headers?.['approov-traceid'];
    value = typeof header === 'string' ? header : undefined;
  }
  if (value === undefined) return undefined;
  return TRACE_ID_RE.test(value) ? value : 'invalid';
}
