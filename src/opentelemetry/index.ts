// nestjs-approov/opentelemetry: an onCheck hook that records each check as an OpenTelemetry span
// and in two metrics. Its own entry, so only an app that imports it loads @opentelemetry/api.
import { performance } from 'node:perf_hooks';
import {
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { ApproovCheckReport } from '../core/check/check-report.js';

/** The instrumentation scope of the span and the metrics. */
export const APPROOV_INSTRUMENTATION_SCOPE = 'nestjs-approov';
/** The span each check records, a child of the active span. */
export const APPROOV_CHECK_SPAN = 'approov.check';
/** The counter of checks, by `approov.outcome`, `approov.failure_code` and `approov.context`. */
export const APPROOV_CHECKS_METRIC = 'approov.checks';
/** The histogram of check durations in seconds, by `approov.outcome` and `approov.context`. */
export const APPROOV_CHECK_DURATION_METRIC = 'approov.check.duration';

// A token-only check takes microseconds; a keyset refetch or a shared replay store, milliseconds.
const DURATION_BUCKETS_SEC = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 0.5, 1, 2.5, 5,
];

export interface ApproovOpenTelemetryOptions {
  /** Where the span goes. Default: the global tracer provider, looked up at each check. */
  tracerProvider?: TracerProvider;
  /** Where the metrics go. Default: the global meter provider, looked up at each check. */
  meterProvider?: MeterProvider;
}

/**
 * An `onCheck` hook for ApproovModule that records every check: a span `approov.check` under the
 * active span (`approov.outcome`, `approov.failure_code`, `approov.context`,
 * `approov.message_signing`), a counter `approov.checks` and a histogram `approov.check.duration`
 * (seconds). The providers are looked up at each check, so an SDK registered after the module was
 * configured is still used; with none registered, the API's no-op providers cost next to nothing.
 * No token, key, signature, `did` or header value is ever recorded.
 *
 * ```ts
 * ApproovModule.forRoot({ secret, onCheck: approovOpenTelemetry() })
 * ```
 */
export function approovOpenTelemetry(
  options: ApproovOpenTelemetryOptions = {},
): (report: ApproovCheckReport) => void {
  let tracerProvider: TracerProvider | undefined;
  let tracer: Tracer;
  let meterProvider: MeterProvider | undefined;
  let checks: Counter;
  let duration: Histogram;

  return (report) => {
    const currentTracerProvider = options.tracerProvider ?? trace.getTracerProvider();
    if (currentTracerProvider !== tracerProvider) {
      tracerProvider = currentTracerProvider;
      tracer = tracerProvider.getTracer(APPROOV_INSTRUMENTATION_SCOPE);
    }
    const currentMeterProvider = options.meterProvider ?? metrics.getMeterProvider();
    if (currentMeterProvider !== meterProvider) {
      meterProvider = currentMeterProvider;
      const meter = meterProvider.getMeter(APPROOV_INSTRUMENTATION_SCOPE);
      checks = meter.createCounter(APPROOV_CHECKS_METRIC, {
        description: 'Approov checks, by outcome and failure code',
      });
      duration = meter.createHistogram(APPROOV_CHECK_DURATION_METRIC, {
        description: 'How long an Approov check took',
        unit: 's',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS_SEC },
      });
    }

    // One object per instrument: a metrics SDK may keep the object it was given as a series key.
    duration.record(report.durationSec, {
      'approov.outcome': report.outcome,
      'approov.context': report.context,
    });
    const attributes: Attributes = {
      'approov.outcome': report.outcome,
      'approov.context': report.context,
    };
    if (report.code !== undefined) attributes['approov.failure_code'] = report.code;
    checks.add(1, { ...attributes });

    if (report.messageSigning.length > 0)
      attributes['approov.message_signing'] = [...report.messageSigning];
    const endMs = performance.timeOrigin + performance.now();
    const span = tracer.startSpan(
      APPROOV_CHECK_SPAN,
      { kind: SpanKind.INTERNAL, startTime: endMs - report.durationSec * 1000, attributes },
      context.active(),
    );
    // A reject is the client's fault, not the server's; "could not decide" is the server's.
    if (report.outcome === 'unavailable') span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(endMs);
  };
}
