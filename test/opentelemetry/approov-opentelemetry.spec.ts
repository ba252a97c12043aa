import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ApproovCheckReport } from 'nestjs-approov';
import { approovOpenTelemetry } from 'nestjs-approov/opentelemetry';

// The hook on its own: the providers it is given, or the global ones looked up at each check (an
// SDK started after the module was configured is still used), and nothing at all without an SDK.

const PASS: ApproovCheckReport = {
  outcome: 'pass',
  context: 'graphql',
  messageSigning: ['install', 'account'],
  durationSec: 0.002,
  served: true,
};

function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const counted = async () => {
    await reader.forceFlush();
    const scope = exporter.getMetrics().at(-1)?.scopeMetrics[0];
    const counter = scope?.metrics.find((m) => m.descriptor.name === 'approov.checks');
    return counter?.dataPoints.map((p) => [p.attributes, p.value]) ?? [];
  };
  return { spans, tracerProvider, meterProvider, counted, close: () => reader.shutdown() };
}

afterEach(() => {
  trace.disable();
  metrics.disable();
});

describe('approovOpenTelemetry', () => {
  it('records into the providers it is given, with the span timed by the check', async () => {
    const given = sdk();
    const onCheck = approovOpenTelemetry({
      tracerProvider: given.tracerProvider,
      meterProvider: given.meterProvider,
    });
    onCheck(PASS);
    const [span] = given.spans.getFinishedSpans();
    expect(span!.name).toBe('approov.check');
    expect(span!.attributes).toEqual({
      'approov.outcome': 'pass',
      'approov.context': 'graphql',
      'approov.message_signing': ['install', 'account'],
    });
    const [startSec, startNs] = span!.startTime;
    const [endSec, endNs] = span!.endTime;
    expect((endSec - startSec) * 1e3 + (endNs - startNs) / 1e6).toBeCloseTo(2, 0);
    expect(await given.counted()).toEqual([
      [{ 'approov.outcome': 'pass', 'approov.context': 'graphql' }, 1],
    ]);
    await given.close();
  });

  it('uses an SDK registered after the hook was made, and the next one after a change', async () => {
    const onCheck = approovOpenTelemetry();
    onCheck(PASS); // no SDK yet: the API's no-op providers
    const first = sdk();
    trace.setGlobalTracerProvider(first.tracerProvider);
    metrics.setGlobalMeterProvider(first.meterProvider);
    onCheck({ ...PASS, outcome: 'reject', code: 'token_expired', served: false });
    expect(first.spans.getFinishedSpans()).toHaveLength(1);
    expect(await first.counted()).toEqual([
      [
        {
          'approov.outcome': 'reject',
          'approov.context': 'graphql',
          'approov.failure_code': 'token_expired',
        },
        1,
      ],
    ]);

    trace.disable();
    metrics.disable();
    const second = sdk();
    trace.setGlobalTracerProvider(second.tracerProvider);
    metrics.setGlobalMeterProvider(second.meterProvider);
    onCheck(PASS);
    expect(second.spans.getFinishedSpans()).toHaveLength(1);
    expect(first.spans.getFinishedSpans()).toHaveLength(1);
    expect(await second.counted()).toHaveLength(1);
    await Promise.all([first.close(), second.close()]);
  });
});
