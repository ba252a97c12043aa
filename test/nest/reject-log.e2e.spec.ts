import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createApproovToken } from 'nestjs-approov/testing';
import type { ApproovFailure } from 'nestjs-approov';
import { featureAppModule } from './apps/feature-app.js';
import { fakeDateAndTimeouts, realClock } from '../support/fake-clock.js';
import { UNAUTHORIZED_BODY } from '../support/http-client.js';
import { logCapture } from '../support/log-capture.js';
import { REJECT_LOG_FULL_LINES_PER_INTERVAL } from '../../src/core/check/reject-log.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// A flood of rejects writes a line for the first few, then one counted line per code per interval;
// every request still gets its 401 and its onFailure call.

const SECRET = randomBytes(32).toString('base64');
logCapture.addSecret(SECRET);
const FLOOD = 40;

const forged = (): string => {
  const valid = createApproovToken({ secret: SECRET, expiresIn: 300 });
  const token = valid.slice(0, valid.lastIndexOf('.') + 1) + randomBytes(32).toString('base64url');
  logCapture.addSensitive(token);
  return token;
};

describe.each(ADAPTERS)('reject log lines under a flood, on %s', (_platform, createAdapter) => {
  let app: RunningApp;
  const failures: ApproovFailure[] = [];

  beforeAll(async () => {
    app = await startApp(
      featureAppModule({
        secret: SECRET,
        rejectLog: { intervalSec: 1 },
        onFailure: (failure) => failures.push(failure),
      }),
      createAdapter,
    );
  });
  afterAll(() => app?.close());

  it('logs the first forged tokens at once, counts the rest into one line per interval, and reports each', async () => {
    // The summary waits for its interval on setTimeout and Date: both faked for this test only,
    // after the app booted, so the test runs the clock instead of waiting. I/O stays real.
    fakeDateAndTimeouts();
    try {
      await floodThenSummary();
    } finally {
      realClock();
    }
  });

  async function floodThenSummary(): Promise<void> {
    const before = logCapture.approovLines().length;
    const first = await app.get('/token-check', {
      'Approov-Token': forged(),
      'Approov-TraceID': 'flood-1',
    });
    expect(first.status).toBe(401);
    const firstLines = logCapture.approovLines().slice(before);
    expect(firstLines).toHaveLength(1);
    expect(firstLines[0]!.message).toMatch(
      /^rejected token_signature_invalid http GET \/token-check trace=flood-1\b/,
    );

    for (let i = 1; i < FLOOD; i++) {
      const response = await app.get('/token-check', { 'Approov-Token': forged() });
      expect(response.status).toBe(401);
      expect(response.body).toBe(UNAUTHORIZED_BODY);
    }
    expect(failures.filter((f) => f.code === 'token_signature_invalid')).toHaveLength(FLOOD);
    // A few full lines per interval, then counted: far fewer lines than rejects.
    expect(logCapture.approovLines().slice(before).length).toBeLessThan(FLOOD / 2);

    await jest.advanceTimersByTimeAsync(1_300);
    const lines = logCapture
      .approovLines()
      .slice(before)
      .map((line) => line.message);
    const full = lines.filter((line) =>
      line.startsWith('rejected token_signature_invalid http GET /token-check'),
    );
    const counted = lines
      .filter((line) => !full.includes(line))
      .map((line) => Number(/: (\d+) more in the last/.exec(line)?.[1]));
    expect(full.length).toBeGreaterThanOrEqual(REJECT_LOG_FULL_LINES_PER_INTERVAL);
    expect(counted.length).toBeGreaterThanOrEqual(1);
    expect(counted.every((n) => n > 0)).toBe(true);
    expect(full.length + counted.reduce((sum, n) => sum + n, 0)).toBe(FLOOD);
  }

  it('names a targeted route and its trace id in the summary, among thousands of the same code elsewhere', async () => {
    fakeDateAndTimeouts();
    try {
      const before = logCapture.approovLines().length;
      const routes = ['/token-check', '/binding-only', '/double-binding'];
      for (let batch = 0; batch < 20; batch++) {
        const sent = Array.from({ length: 50 }, (_, i) => app.get(routes[i % routes.length]!, {}));
        // Each batch of 50 carries one targeted reject: 20 among 1,000 in all.
        sent.push(app.get('/claims', { 'Approov-TraceID': 'targeted-7' }));
        for (const response of await Promise.all(sent)) expect(response.status).toBe(401);
      }
      await jest.advanceTimersByTimeAsync(1_300);
      const summary = logCapture
        .approovLines()
        .slice(before)
        .map((line) => line.message)
        .find((line) => line.startsWith('token_missing: '));
      expect(summary).toMatch(/top routes: .*GET \/claims ×20\b/);
      expect(summary).toMatch(/top clients: (127\.0\.0\.1|::ffff:127\.0\.0\.1) ×\d+/);
      expect(summary).toContain('top traces: targeted-7 ×20');
      expect(summary!.length).toBeLessThan(600);
    } finally {
      realClock();
    }
  });

  it('keeps codes apart: another code still gets its first line at once', async () => {
    const before = logCapture.approovLines().length;
    await app.get('/token-check', { 'Approov-Token': 'MITM_DETECTED' });
    const lines = logCapture.approovLines().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toMatch(
      /^rejected token_status http GET \/token-check status=mitm_detected\b/,
    );
  });
});

describe('the logs of this suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no token and no secret', () => {
    expect(logCapture.leaks()).toEqual([]);
  });
});
