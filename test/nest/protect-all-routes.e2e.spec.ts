import { randomBytes } from 'node:crypto';
import type { ApproovFailure } from 'nestjs-approov';
import { createApproovToken } from 'nestjs-approov/testing';
import { CONFIG_FORMS, HELLO, protectAllAppModule } from './apps/protect-all-app.js';
import { expectReject } from '../support/http-client.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// protectAllRoutes under forRoot and forRootAsync (@nestjs/config), with @SkipApproov on a
// handler and on a controller, and issuer/audience coming from configuration.

const SECRET = randomBytes(64).toString('base64');
const AUTH = `Bearer ${randomBytes(24).toString('base64url')}`;
const ISSUER = 'ApproovAccountID.approov.io';
const AUDIENCE = 'approov.io';
logCapture.addSecret(SECRET);

const token = (claims: Record<string, unknown> = {}, bind?: string) =>
  createApproovToken({ secret: SECRET, claims: { iss: ISSUER, aud: AUDIENCE, ...claims }, bind });

const cases = ADAPTERS.flatMap(([platform, createAdapter]) =>
  CONFIG_FORMS.map((form) => [platform, form, createAdapter] as const),
);

describe.each(cases)('protectAllRoutes on %s with %s', (_platform, form, createAdapter) => {
  const failures: ApproovFailure[] = [];
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(
      protectAllAppModule(form, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, failures }),
      createAdapter,
    );
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    failures.length = 0;
  });

  const codes = () => failures.map((failure) => failure.code);

  it('guards a route that carries no decorator', async () => {
    expectReject(await app.get('/guarded'));
    expect(codes()).toEqual(['token_missing']);
  });

  it('serves a guarded route with a valid token, claims included', async () => {
    const response = await app.get('/guarded', { 'Approov-Token': token({ did: 'device-3' }) });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ did: 'device-3' });
  });

  it('serves a handler marked @SkipApproov() without a token, and reports nothing', async () => {
    const response = await app.get('/skipped');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual(HELLO);
    expect(failures).toEqual([]);
  });

  it('serves the handlers of a controller marked @SkipApproov() without a token', async () => {
    expect((await app.get('/public/page')).status).toBe(200);
  });

  it('still checks a handler with @ApproovBinding in a @SkipApproov() controller', async () => {
    expectReject(await app.get('/public/bound', { Authorization: AUTH }));
    expect(
      (await app.get('/public/bound', { 'Approov-Token': token({}, AUTH), Authorization: AUTH }))
        .status,
    ).toBe(200);
    expect(codes()).toEqual(['token_missing']);
  });

  it('still checks a handler that carries both @SkipApproov() and @ApproovBinding()', async () => {
    expectReject(
      await app.get('/skipped-but-bound', { 'Approov-Token': token(), Authorization: AUTH }),
    );
    expect(
      (
        await app.get('/skipped-but-bound', {
          'Approov-Token': token({}, AUTH),
          Authorization: AUTH,
        })
      ).status,
    ).toBe(200);
    expect(codes()).toEqual(['binding_claim_missing']);
  });

  it('reports a reject once, although the global guard and the binding guard both run', async () => {
    expectReject(await app.get('/skipped-but-bound', { Authorization: AUTH }));
    expect(codes()).toEqual(['token_missing']);
  });

  it('checks the configured issuer', async () => {
    expectReject(await app.get('/guarded', { 'Approov-Token': token({ iss: 'someone-else' }) }));
    expect(codes()).toEqual(['token_issuer_invalid']);
  });

  it('checks the configured audience', async () => {
    expectReject(
      await app.get('/guarded', { 'Approov-Token': token({ aud: 'another-audience' }) }),
    );
    expect(codes()).toEqual(['token_audience_invalid']);
  });
});

describe('the logs of this suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no token, no bound header value and no secret', () => {
    expect(logCapture.approovLines().length).toBeGreaterThan(0);
    expect(logCapture.leaks()).toEqual([]);
  });
});
