import { randomBytes } from 'node:crypto';
import { featureAppModule } from './apps/feature-app.js';
import { UNAUTHORIZED_BODY } from '../support/http-client.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// A broken metrics hook must not turn a 401 into a 500, nor put what it threw in the logs.

const SECRET = randomBytes(64).toString('base64');
const HOOK_MESSAGE = `hook failed with ${randomBytes(16).toString('hex')}`;
logCapture.addSecret(SECRET);
logCapture.addSensitive(HOOK_MESSAGE);

describe.each(ADAPTERS)('an onFailure hook that throws, on %s', (_platform, createAdapter) => {
  let app: RunningApp;
  let calls = 0;

  beforeAll(async () => {
    app = await startApp(
      featureAppModule({
        secret: SECRET,
        onFailure: () => {
          calls += 1;
          throw new Error(HOOK_MESSAGE);
        },
      }),
      createAdapter,
    );
  });
  afterAll(() => app?.close());

  it('still answers the one 401, and was called', async () => {
    const before = calls;
    const response = await app.get('/token-check');
    expect(response.status).toBe(401);
    expect(response.body).toBe(UNAUTHORIZED_BODY);
    expect(calls).toBe(before + 1);
  });

  it('logs that the hook threw, without its message', async () => {
    const before = logCapture.approovLines().length;
    await app.get('/token-check', { 'Approov-Token': 'MITM_DETECTED' });
    const lines = logCapture.approovLines().slice(before);
    expect(lines.map((line) => line.level)).toEqual(['warn', 'error']);
    expect(lines[1]!.message).toMatch(/onFailure/);
    expect(lines[1]!.message).not.toContain(HOOK_MESSAGE);
  });
});

describe('the logs of this suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no secret and not the message the hook threw', () => {
    expect(logCapture.leaks()).toEqual([]);
  });
});
