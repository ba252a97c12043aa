import { randomBytes, randomUUID } from 'node:crypto';
import type { ApproovCheckReport } from 'nestjs-approov';
import {
  createApproovInstallationKey,
  createApproovToken,
  signApproovRequest,
} from 'nestjs-approov/testing';
import { HELLO, startSigningApp, type SigningApp } from './apps/signing-app.js';
import { UNAUTHORIZED_BODY, statusAndBody } from '../support/http-client.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS } from '../support/nest-app.js';

// onCheck through Nest: one report per request, in the guard's own terms, and a hook that throws
// changes neither the reply nor what the client sees.

const SECRET = randomBytes(64).toString('base64');
const { privateKey, ipk } = createApproovInstallationKey();
const DID = `did-${randomUUID()}`;
const HOOK_MESSAGE = `hook failed with ${randomBytes(16).toString('hex')}`;
logCapture.addSecret(SECRET);
logCapture.addSensitive(HOOK_MESSAGE);

// A token without `ipk` needs no signature on a route where signing is optional.
const plainToken = () =>
  createApproovToken({ secret: SECRET, claims: { did: DID, jti: randomUUID() } });
const token = () =>
  createApproovToken({ secret: SECRET, claims: { did: DID, ipk, jti: randomUUID() } });
const OK = { status: 200, body: JSON.stringify(HELLO) };

describe.each(ADAPTERS)('the onCheck hook on %s', (_platform, createAdapter) => {
  const reports: ApproovCheckReport[] = [];
  let running: SigningApp;
  let throwing = false;

  beforeAll(async () => {
    running = await startSigningApp(createAdapter, {
      secret: SECRET,
      onCheck: (report) => {
        reports.push(report);
        if (throwing) throw new Error(HOOK_MESSAGE);
      },
    });
  });
  afterAll(() => running?.close());
  beforeEach(() => {
    reports.length = 0;
    throwing = false;
  });

  const signedGet = (path: string) => {
    const sent = token();
    const url = new URL(path, `http://127.0.0.1:${running.port}`);
    const headers = signApproovRequest({ privateKey, method: 'GET', url, token: sent });
    return running.get(path, { 'approov-token': sent, ...headers });
  };

  it('reports a pass, a signed pass with its label, and each reject with its code', async () => {
    expect(
      statusAndBody(await running.get('/optional', { 'approov-token': plainToken() })),
    ).toEqual(OK);
    expect(statusAndBody(await signedGet('/signed'))).toEqual(OK);
    expect((await running.get('/optional')).status).toBe(401);
    expect((await running.get('/signed', { 'approov-token': token() })).status).toBe(401);
    expect(
      reports.map(({ outcome, code, context, messageSigning, served }) => ({
        outcome,
        code,
        context,
        messageSigning,
        served,
      })),
    ).toEqual([
      { outcome: 'pass', code: undefined, context: 'http', messageSigning: [], served: true },
      {
        outcome: 'pass',
        code: undefined,
        context: 'http',
        messageSigning: ['install'],
        served: true,
      },
      {
        outcome: 'reject',
        code: 'token_missing',
        context: 'http',
        messageSigning: [],
        served: false,
      },
      {
        outcome: 'reject',
        code: 'install_signature_missing',
        context: 'http',
        messageSigning: [],
        served: false,
      },
    ]);
    for (const report of reports) expect(report.durationSec).toBeGreaterThanOrEqual(0);
    const text = JSON.stringify(reports);
    expect(text).not.toContain(DID);
    expect(text).not.toContain(ipk);
  });

  it('changes nothing when it throws: the same 200 and 401, an error line naming the hook only', async () => {
    throwing = true;
    const before = logCapture.approovLines().length;
    expect(
      statusAndBody(await running.get('/optional', { 'approov-token': plainToken() })),
    ).toEqual(OK);
    expect(statusAndBody(await running.get('/optional'))).toEqual({
      status: 401,
      body: UNAUTHORIZED_BODY,
    });
    expect(reports.map((r) => r.outcome)).toEqual(['pass', 'reject']);
    const errors = logCapture
      .approovLines()
      .slice(before)
      .filter((line) => line.level === 'error');
    expect(errors).toHaveLength(2);
    for (const line of errors) expect(line.message).toMatch(/^onCheck hook threw Error\b/);
  });
});

describe('the logs of the onCheck suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no secret and not the message the hook threw', () => {
    expect(logCapture.leaks()).toEqual([]);
  });
});
