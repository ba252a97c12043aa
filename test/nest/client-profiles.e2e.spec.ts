import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { ApproovFailure } from 'nestjs-approov';
import { createApproovToken } from 'nestjs-approov/testing';
import { ADAPTERS, type AdapterFactory } from '../support/nest-app.js';
import { logCapture } from '../support/log-capture.js';
import { UNAUTHORIZED_BODY } from '../support/http-client.js';
import {
  ACCOUNT_KEY,
  buildProfileRequest,
  profileCases,
  sendLines,
  TOKEN_SECRET,
  type ProfileRoute,
} from '../support/client-profiles.js';
import { clientProfilesModule, SERVED } from './apps/client-profiles-app.js';

// The client-profile corpus over HTTP, on both adapters: what each SDK sends by default is
// served, each tampered variant gets the one 401 with its code. Also: a forged header past
// Node's header-line cut, Approov-Status in reports, and a server without the account key.

const cases = profileCases();
const nowSec = (): number => Math.floor(Date.now() / 1000);

async function boot(createAdapter: AdapterFactory, env: { accountKey?: string } = {}) {
  const failures: ApproovFailure[] = [];
  logCapture.start();
  logCapture.addSecret(TOKEN_SECRET);
  logCapture.addSecret(ACCOUNT_KEY);
  const module = clientProfilesModule(
    {
      secret: TOKEN_SECRET,
      ...(env.accountKey !== undefined ? { messageSigningKey: env.accountKey } : {}),
    },
    failures,
  );
  const app: INestApplication = await NestFactory.create(module, createAdapter(), {
    rawBody: true,
    logger: logCapture.logger,
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, port, failures };
}

/** The app with the account key, booted before the block's tests and closed after; failures cleared before each test. */
function bootedForBlock(createAdapter: AdapterFactory): Awaited<ReturnType<typeof boot>> {
  const running = {} as Awaited<ReturnType<typeof boot>>;
  beforeAll(async () => {
    Object.assign(running, await boot(createAdapter, { accountKey: ACCOUNT_KEY }));
  });
  afterAll(async () => {
    await running.app.close();
  });
  beforeEach(() => {
    running.failures.length = 0;
  });
  return running;
}

describe.each(ADAPTERS)('the client-profile corpus on %s', (_name, createAdapter) => {
  const running = bootedForBlock(createAdapter);

  describe.each<ProfileRoute>(['default', 'strict', 'account'])('on the %s route', (route) => {
    it.each(cases.map((entry) => [entry.name, entry] as const))('%s', async (_case, entry) => {
      const request = buildProfileRequest(entry, route, `127.0.0.1:${running.port}`, nowSec());
      for (const [name, value] of request.lines)
        if (!/^(host|approov-status|approov-traceid|content-type|content-length)$/i.test(name))
          logCapture.addSensitive(value);
      const reply = await sendLines(
        running.port,
        request.method,
        request.path,
        request.lines,
        request.body,
      );
      const verdict = entry.verdicts[route];
      if (verdict === 'accept') {
        expect(reply).toEqual({ status: 200, body: JSON.stringify(SERVED) });
        expect(running.failures).toEqual([]);
      } else {
        expect(reply.status).toBe(401);
        expect(reply.body).toBe(UNAUTHORIZED_BODY);
        expect(running.failures.map((failure) => failure.code)).toEqual([verdict]);
      }
    });
  });

  it('never logged a token, a signature, the account key or the secret', () => {
    expect(logCapture.leaks()).toEqual([]);
  });
});

describe.each(ADAPTERS)('hardening and Approov-Status on %s', (_name, createAdapter) => {
  const running = bootedForBlock(createAdapter);

  const filler = Array.from({ length: 1021 }, (_, i) => [`X-Filler-${i}`, 'a'] as const);

  it.each([
    '/protected/token',
    '/protected/binding',
    '/protected/signed',
    '/protected/offline-ok',
    '/profiles/default',
  ])(
    'rejects a forged second token placed after 1,021 filler lines (which Node drops) on %s',
    async (path) => {
      const token = createApproovToken({ secret: TOKEN_SECRET, claims: { pay: undefined } });
      const forged = createApproovToken({ secret: TOKEN_SECRET, expiresIn: -60 });
      logCapture.addSensitive(token, forged);
      const lines = [
        ['Host', `127.0.0.1:${running.port}`],
        ['Approov-Token', token],
        ['Authorization', 'Bearer one'],
        ...filler,
        ['Approov-Token', forged],
      ] as const;
      const reply = await sendLines(running.port, 'GET', path, lines);
      expect(reply.status).toBe(401);
      expect(reply.body).toBe(UNAUTHORIZED_BODY);
      expect(running.failures.map((failure) => failure.code)).toEqual(['request_headers_too_many']);
    },
  );

  it('remembers every verified signature: a replay with one of two labels stripped is still a replay', async () => {
    const entry = cases.find(
      (one) => one.profile.signatureLines === 'per-label' && one.tamper === undefined,
    )!;
    const built = buildProfileRequest(
      entry,
      'default',
      `127.0.0.1:${running.port}`,
      nowSec(),
      '/protected/either',
    );
    const installLines = built.lines.filter(
      ([name, value]) => /^signature(-input)?$/i.test(name) && value.startsWith('install='),
    );
    expect(installLines).toHaveLength(2);
    const stripped = built.lines.filter((line) => !installLines.includes(line));
    expect(await sendLines(running.port, 'GET', built.path, built.lines)).toEqual({
      status: 200,
      body: JSON.stringify(SERVED),
    });
    expect((await sendLines(running.port, 'GET', built.path, stripped)).status).toBe(401);
    expect((await sendLines(running.port, 'GET', built.path, built.lines)).status).toBe(401);
    expect(running.failures.map((failure) => failure.code)).toEqual([
      'signature_replayed',
      'signature_replayed',
    ]);
  });

  it('reports Approov-Status with a missing token, in the failure and in the log line', async () => {
    const reply = await sendLines(running.port, 'GET', '/protected/token', [
      ['Host', 'x'],
      ['Approov-Status', 'no_network'],
    ]);
    expect(reply.status).toBe(401);
    expect(running.failures).toEqual([
      expect.objectContaining({ code: 'token_missing', approovStatus: 'no_network' }),
    ]);
    expect(logCapture.approovLines().at(-1)?.message).toMatch(
      /^rejected token_missing http GET \/protected\/token status=no_network( Approov)?$/,
    );
  });

  it('reports a status that is not a short lower-case word as invalid, so it cannot forge log text', async () => {
    await sendLines(running.port, 'GET', '/protected/token', [
      ['Host', 'x'],
      ['Approov-Status', 'ok trace=forged'],
    ]);
    expect(running.failures).toEqual([expect.objectContaining({ approovStatus: 'invalid' })]);
  });

  it('serves a route that allows the status, and still reports it', async () => {
    const reply = await sendLines(running.port, 'GET', '/protected/offline-ok', [
      ['Host', 'x'],
      ['Approov-Status', 'no_network'],
    ]);
    expect(reply).toEqual({ status: 200, body: JSON.stringify(SERVED) });
    expect(running.failures).toEqual([
      expect.objectContaining({ code: 'token_missing', allowedByStatus: true }),
    ]);
  });

  it('lets an allowed status through only when the token is missing, not when it is bad', async () => {
    const expired = createApproovToken({ secret: TOKEN_SECRET, expiresIn: -60 });
    logCapture.addSensitive(expired);
    const reply = await sendLines(running.port, 'GET', '/protected/offline-ok', [
      ['Host', 'x'],
      ['Approov-Token', expired],
      ['Approov-Status', 'no_network'],
    ]);
    expect(reply.status).toBe(401);
  });

  it('reports the SDK 3.5.6 token-header status mode (NO_NETWORK in Approov-Token) as token_status, with its status', async () => {
    const reply = await sendLines(running.port, 'GET', '/protected/token', [
      ['Host', 'x'],
      ['Approov-Token', 'NO_NETWORK'],
    ]);
    expect(reply.status).toBe(401);
    expect(running.failures).toEqual([
      expect.objectContaining({ code: 'token_status', approovStatus: 'no_network' }),
    ]);
    expect(logCapture.approovLines().at(-1)?.message).toMatch(
      /^rejected token_status http GET \/protected\/token status=no_network( Approov)?$/,
    );
  });

  it('serves the token-header status on a route that allows it, and still reports it', async () => {
    const reply = await sendLines(running.port, 'GET', '/protected/offline-ok', [
      ['Host', 'x'],
      ['Approov-Token', 'NO_NETWORK'],
    ]);
    expect(reply).toEqual({ status: 200, body: JSON.stringify(SERVED) });
    expect(running.failures).toEqual([
      expect.objectContaining({ code: 'token_status', allowedByStatus: true }),
    ]);
  });

  it('rejects a status the route does not allow', async () => {
    const reply = await sendLines(running.port, 'GET', '/protected/offline-ok', [
      ['Host', 'x'],
      ['Approov-Status', 'mitm_detected'],
    ]);
    expect(reply.status).toBe(401);
  });
});

describe.each(ADAPTERS)('a server without the account key on %s', (_name, createAdapter) => {
  let running: Awaited<ReturnType<typeof boot>>;
  beforeAll(async () => {
    logCapture.logger.lines.length = 0;
    running = await boot(createAdapter);
  });
  afterAll(async () => {
    await running.app.close();
  });

  it('says why once at boot, and answers 401 on account routes while install routes still serve', async () => {
    const bootWarnings = logCapture
      .approovLines()
      .filter((line) => line.message.includes('no account message-signing key'));
    expect(bootWarnings).toHaveLength(1);
    const entry = cases.find(
      (one) => one.profile.labels.includes('account') && one.tamper === undefined,
    )!;
    for (const route of ['account', 'account', 'default'] as const) {
      const request = buildProfileRequest(entry, route, `127.0.0.1:${running.port}`, nowSec());
      const reply = await sendLines(
        running.port,
        request.method,
        request.path,
        request.lines,
        request.body,
      );
      expect(reply.status).toBe(route === 'default' ? 200 : 401);
    }
    expect(running.failures.map((failure) => failure.code)).toEqual([
      'account_key_not_configured',
      'account_key_not_configured',
    ]);
    expect(
      logCapture
        .approovLines()
        .filter((line) => line.message.includes('no account message-signing key')),
    ).toHaveLength(1);
  });
});
