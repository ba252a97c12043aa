import { randomBytes } from 'node:crypto';
import type { ApproovFailure } from 'nestjs-approov';
import { createApproovToken } from 'nestjs-approov/testing';
import { HELLO, featureAppModule } from './apps/feature-app.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// mode: 'monitor' serves every request, but logs and reports each reject (for a gradual rollout).

const SECRET = randomBytes(64).toString('base64');
const AUTH = `Bearer ${randomBytes(24).toString('base64url')}`;
logCapture.addSecret(SECRET);
const token = (claims: Record<string, unknown> = {}, bind?: string) =>
  createApproovToken({ secret: SECRET, claims, bind });
const expired = () => token({ exp: Math.floor(Date.now() / 1000) - 10 });

describe.each(ADAPTERS)("mode: 'monitor' on %s", (_platform, createAdapter) => {
  const failures: ApproovFailure[] = [];
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(
      featureAppModule({
        secret: SECRET,
        mode: 'monitor',
        rejectLog: { lines: 'every' },
        onFailure: (failure) => failures.push(failure),
      }),
      createAdapter,
    );
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    failures.length = 0;
  });

  it('serves a guarded route without a token, and reports it as monitored', async () => {
    const response = await app.get('/token-check', { 'Approov-TraceID': 'trace-m1' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual(HELLO);
    expect(failures).toEqual([
      {
        code: 'token_missing',
        context: 'http',
        method: 'GET',
        path: '/token-check',
        traceId: 'trace-m1',
        monitored: true,
      },
    ]);
  });

  it('serves an expired token and reports token_expired', async () => {
    expect((await app.get('/token-check', { 'Approov-Token': expired() })).status).toBe(200);
    expect(failures.map((failure) => [failure.code, failure.monitored])).toEqual([
      ['token_expired', true],
    ]);
  });

  it('serves a binding mismatch and reports it', async () => {
    const response = await app.get('/binding-only', {
      'Approov-Token': token({}, 'Bearer other'),
      Authorization: AUTH,
    });
    expect(response.status).toBe(200);
    expect(failures.map((failure) => failure.code)).toEqual(['binding_mismatch']);
  });

  it('reports nothing for a valid token, and still provides its claims', async () => {
    const response = await app.get('/claims', { 'Approov-Token': token({ did: 'device-5' }) });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ did: 'device-5' });
    expect(failures).toEqual([]);
  });

  it('provides no claims for a monitored reject', async () => {
    const response = await app.get('/claims', { 'Approov-Token': expired() });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ did: null });
  });

  it("serves AuthGuard('approov') with no user on a reject, and reports it", async () => {
    const response = await app.get('/passport', { 'Approov-Token': expired() });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ user: null, did: null });
    expect(failures.map((failure) => failure.code)).toEqual(['token_expired']);
  });

  it("serves AuthGuard('approov') with the claims as user on a valid token", async () => {
    const response = await app.get('/passport', { 'Approov-Token': token({ did: 'device-6' }) });
    expect(JSON.parse(response.body)).toMatchObject({ user: { did: 'device-6' }, did: 'device-6' });
  });

  it('logs a "monitor" line with the code, method and path', async () => {
    const before = logCapture.approovLines().length;
    await app.get('/token-check', { 'Approov-Token': 'NO_NETWORK', 'Approov-TraceID': 'trace-m2' });
    const lines = logCapture.approovLines().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toMatch(/monitor/);
    expect(lines[0]!.message).toContain('token_status');
    expect(lines[0]!.message).toContain('GET /token-check');
    expect(lines[0]!.message).toContain('trace-m2');
  });

  it("reports a reject once when AuthGuard('approov') and the @ApproovBinding guard both judge it", async () => {
    const response = await app.get('/passport-binding', {
      'Approov-Token': expired(),
      Authorization: AUTH,
    });
    expect(response.status).toBe(200);
    expect(failures.map((failure) => failure.code)).toEqual(['token_expired']);
  });

  it("reports a binding reject once on a route with AuthGuard('approov') and @ApproovBinding", async () => {
    const response = await app.get('/passport-binding', {
      'Approov-Token': token(),
      Authorization: AUTH,
    });
    expect(response.status).toBe(200);
    expect(failures.map((failure) => failure.code)).toEqual(['binding_claim_missing']);
  });
});

describe('the logs of this suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no token, no bound header value and no secret', () => {
    expect(logCapture.approovLines().length).toBeGreaterThan(0);
    expect(logCapture.leaks()).toEqual([]);
  });
});
