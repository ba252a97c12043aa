import {
  Controller,
  Get,
  Injectable,
  Module,
  UseGuards,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { context, metrics, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ApproovBinding,
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { approovOpenTelemetry } from 'nestjs-approov/opentelemetry';
import {
  createApproovInstallationKey,
  createApproovKeyPair,
  createApproovKeysetToken,
  createApproovToken,
  signApproovRequest,
  startApproovJwksServer,
  type ApproovJwksServer,
} from 'nestjs-approov/testing';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// The OpenTelemetry hook with the SDK's in-memory exporters, as an app would wire it: the global
// providers and context manager, `onCheck: approovOpenTelemetry()`. One `approov.check` span per
// check, under the active span; counters that match the requests sent; no secret-bearing value.

const SECRET = randomBytes(64).toString('base64');
const { privateKey, ipk } = createApproovInstallationKey();
const ES256 = createApproovKeyPair('ES256', 'otel-1');
const DID = `did-${randomUUID()}`;
const SESSION = `Bearer session-${randomUUID()}`;
logCapture.addSecret(SECRET);

@Controller()
class ObservedController {
  @Get('token')
  @UseGuards(ApproovGuard)
  token() {
    return { ok: true };
  }

  @Get('bound')
  @ApproovBinding('Authorization')
  bound() {
    return { ok: true };
  }

  @Get('signed')
  @ApproovMessageSigning({ requireInstallationKey: true })
  signed() {
    return { ok: true };
  }
}

/** Routes under an active span, as an HTTP instrumentation would make one. */
@Controller('traced')
class TracedController {
  @Get()
  @UseGuards(ApproovGuard)
  traced() {
    return { ok: true };
  }
}

const requestSpans: Span[] = [];

@Injectable()
class ActiveSpanMiddleware implements NestMiddleware {
  use(_request: unknown, _response: unknown, next: () => void): void {
    const span = trace.getTracer('test-http').startSpan('GET /traced');
    requestSpans.push(span);
    context.with(trace.setSpan(context.active(), span), next);
    span.end();
  }
}

function observedModule(options: ApproovModuleOptions): DynamicModule {
  @Module({})
  class ObservedModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer.apply(ActiveSpanMiddleware).forRoutes(TracedController);
    }
  }
  return {
    module: ObservedModule,
    imports: [ApproovModule.forRoot(options)],
    controllers: [ObservedController, TracedController],
  };
}

const spanExporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] }),
  );
});
afterAll(() => {
  trace.disable();
  metrics.disable();
  context.disable();
});

describe.each(ADAPTERS)('OpenTelemetry on %s', (_platform, createAdapter) => {
  let running: RunningApp;
  let jwks: ApproovJwksServer;
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const sent: string[] = [];

  beforeAll(async () => {
    spanExporter.reset();
    requestSpans.length = 0;
    // A fresh meter provider per adapter: the hook looks the global one up at each check.
    metrics.disable();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    jwks = await startApproovJwksServer(ES256);
    jwks.fail('error');
    running = await startApp(
      observedModule({
        secret: SECRET,
        jwksUri: jwks.url,
        keyset: { requireAtBoot: false, timeoutMs: 500 },
        onCheck: approovOpenTelemetry(),
      }),
      createAdapter,
    );
  });
  afterAll(async () => {
    await running?.close();
    await jwks?.close();
    await reader.shutdown();
  });

  const hs256 = (claims: Record<string, unknown> = {}, bind?: string) => {
    const token = createApproovToken({
      secret: SECRET,
      claims: { did: DID, jti: randomUUID(), ...claims },
      ...(bind !== undefined ? { bind } : {}),
    });
    sent.push(token);
    return token;
  };
  const get = async (path: string, headers: Record<string, string> = {}) => {
    sent.push(...Object.values(headers));
    return (await running.get(path, headers)).status;
  };

  it('answers each request as without the hook', async () => {
    expect(await get('/token', { 'approov-token': hs256() })).toBe(200);
    expect(await get('/token', { 'approov-token': hs256() })).toBe(200);
    expect(
      await get('/bound', { 'approov-token': hs256({}, SESSION), authorization: SESSION }),
    ).toBe(200);
    const signedToken = hs256({ ipk });
    const signature = signApproovRequest({
      privateKey,
      method: 'GET',
      url: new URL('/signed', running.baseUrl),
      token: signedToken,
    });
    expect(await get('/signed', { 'approov-token': signedToken, ...signature })).toBe(200);
    expect(await get('/traced', { 'approov-token': hs256() })).toBe(200);
    expect(await get('/token')).toBe(401);
    expect(await get('/token', { 'approov-token': `${hs256()}x` })).toBe(401);
    expect(await get('/traced', { 'approov-token': `${hs256()}x` })).toBe(401);
    expect(
      await get('/bound', { 'approov-token': hs256({}, SESSION), authorization: 'Bearer other' }),
    ).toBe(401);
    const keysetToken = createApproovKeysetToken({ key: ES256, claims: { did: DID } });
    expect(await get('/token', { 'approov-token': keysetToken })).toBe(503);
  });

  it('records one approov.check span per check, with its outcome, code, context and labels', () => {
    const spans = spanExporter.getFinishedSpans().filter((s) => s.name === 'approov.check');
    expect(spans.map((s) => s.attributes)).toEqual([
      { 'approov.outcome': 'pass', 'approov.context': 'http' },
      { 'approov.outcome': 'pass', 'approov.context': 'http' },
      { 'approov.outcome': 'pass', 'approov.context': 'http' },
      {
        'approov.outcome': 'pass',
        'approov.context': 'http',
        'approov.message_signing': ['install'],
      },
      { 'approov.outcome': 'pass', 'approov.context': 'http' },
      {
        'approov.outcome': 'reject',
        'approov.context': 'http',
        'approov.failure_code': 'token_missing',
      },
      reject('token_signature_invalid'),
      reject('token_signature_invalid'),
      reject('binding_mismatch'),
      {
        'approov.outcome': 'unavailable',
        'approov.context': 'http',
        'approov.failure_code': 'keyset_unavailable',
      },
    ]);
    // Only "could not decide" marks the span an error: a reject is the client's fault.
    expect(spans.map((s) => s.status.code)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    for (const span of spans) {
      const [start, end] = [span.startTime, span.endTime].map(([s, ns]) => s * 1e9 + ns);
      expect(end! - start!).toBeGreaterThanOrEqual(0);
    }
  });

  it('puts the span under the active span when there is one, and at the root otherwise', () => {
    const spans = spanExporter.getFinishedSpans().filter((s) => s.name === 'approov.check');
    const parents = spans.map((s) => s.parentSpanContext?.spanId);
    expect(requestSpans).toHaveLength(2);
    const traced = requestSpans.map((span) => span.spanContext());
    expect([parents[4], parents[7]]).toEqual(traced.map((c) => c.spanId));
    expect([spans[4]!.spanContext().traceId, spans[7]!.spanContext().traceId]).toEqual(
      traced.map((c) => c.traceId),
    );
    expect(parents.filter((p) => p !== undefined)).toHaveLength(2);
  });

  it('counts the checks by outcome and code, and their durations', async () => {
    await reader.forceFlush();
    const scope = metricExporter
      .getMetrics()
      .at(-1)!
      .scopeMetrics.find((s) => s.scope.name === 'nestjs-approov')!;
    const counter = scope.metrics.find((m) => m.descriptor.name === 'approov.checks')!;
    const counts = Object.fromEntries(
      counter.dataPoints.map((p) => [
        `${p.attributes['approov.outcome']}/${p.attributes['approov.failure_code'] ?? '-'}`,
        p.value,
      ]),
    );
    expect(counts).toEqual({
      'pass/-': 5,
      'reject/token_missing': 1,
      'reject/token_signature_invalid': 2,
      'reject/binding_mismatch': 1,
      'unavailable/keyset_unavailable': 1,
    });
    const duration = scope.metrics.find((m) => m.descriptor.name === 'approov.check.duration')!;
    expect(duration.descriptor.unit).toBe('s');
    const points = duration.dataPoints as DataPoint<Histogram>[];
    expect(points.reduce((sum, p) => sum + p.value.count, 0)).toBe(10);
    for (const point of points) expect(point.value.min).toBeGreaterThanOrEqual(0);
  });

  it('exports no token, did, secret, bound value, key or signature', async () => {
    const spans = spanExporter.getFinishedSpans().map((s: ReadableSpan) => ({
      name: s.name,
      attributes: s.attributes,
      status: s.status,
      events: s.events,
      links: s.links,
      resource: s.resource.attributes,
      scope: s.instrumentationScope,
    }));
    const exported = JSON.stringify([spans, metricExporter.getMetrics()]);
    expect(exported).toContain('approov.check.duration');
    expect(sent.length).toBeGreaterThan(10);
    const secrets = [SECRET, DID, SESSION, ipk, ...sent];
    expect(secrets.filter((value) => exported.includes(value))).toEqual([]);
  });
});

function reject(code: string) {
  return { 'approov.outcome': 'reject', 'approov.context': 'http', 'approov.failure_code': code };
}

describe('the logs of the OpenTelemetry suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no secret', () => {
    expect(logCapture.leaks()).toEqual([]);
  });
});
