import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { logCapture } from '../support/log-capture.js';
import { bootError, type AdapterFactory } from '../support/nest-app.js';
import {
  UnguardedGateway,
  gatewayModule,
  startGatewayApp,
  type GatewayApp,
  type WebSocketKind,
} from './apps/gateway-app.js';
import { connectClient, type GatewayClient } from './support/ws-clients.js';

// WebSocket gateways (socket.io and ws) with the plain ApproovGuard: the token comes from the
// handshake, and every message is judged again, so a connection outlives its token by no message.

const KINDS: ReadonlyArray<readonly [WebSocketKind, string, AdapterFactory]> = [
  ['socket.io', 'Express', () => new ExpressAdapter()],
  ['ws', 'Express', () => new ExpressAdapter()],
  ['socket.io', 'Fastify', () => new FastifyAdapter()],
  ['ws', 'Fastify', () => new FastifyAdapter()],
];

const secret = createApproovSecret();
const token = (expiresIn = 300) =>
  createApproovToken({
    secret,
    claims: { did: 'device-1' },
    now: Date.now() / 1000,
    expiresIn,
  });
const UNAUTHORIZED = {
  exception: expect.objectContaining({ status: 'error', message: 'Unauthorized' }),
};

describe.each(KINDS)('%s gateway on %s', (kind, _platform, createAdapter) => {
  let app: GatewayApp;
  const clients: GatewayClient[] = [];
  const connect = async (headers: Record<string, string>) => {
    const client = await connectClient(kind, app.port, headers);
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    app = await startGatewayApp(kind, createAdapter, { secret });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    app.failures.length = 0;
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it('serves messages on a connection whose handshake carried a valid token, with its claims', async () => {
    const client = await connect({ 'Approov-Token': token() });
    expect(await client.send('device')).toEqual({ event: 'device', data: 'device-1' });
    expect(await client.send('device')).toEqual({ event: 'device', data: 'device-1' });
    expect(app.failures).toEqual([]);
  });

  it.each([
    ['missing', {}, 'token_missing'],
    [
      'forged',
      { 'Approov-Token': createApproovToken({ secret: createApproovSecret() }) },
      'token_signature_invalid',
    ],
    ['expired', { 'Approov-Token': token(-60) }, 'token_expired'],
  ] as const)(
    'refuses a message of a connection with a %s token, then closes it',
    async (_n, headers, code) => {
      const client = await connect(headers);
      expect(await client.send('device')).toEqual(UNAUTHORIZED);
      expect(await client.closedByServer()).toBe(true);
      expect(app.failures.map((f) => [f.code, f.context])).toEqual([[code, 'ws']]);
    },
  );

  it("refuses the first message sent after the handshake token's exp, and closes the connection", async () => {
    const client = await connect({ 'Approov-Token': token(0.4) });
    expect(await client.send('device')).toEqual({ event: 'device', data: 'device-1' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await client.send('device')).toEqual(UNAUTHORIZED);
    expect(await client.closedByServer()).toBe(true);
    expect(app.failures.map((f) => f.code)).toEqual(['token_expired']);
  });

  it('gives no claims to a @SkipApproov() handler, even after a message that passed', async () => {
    const client = await connect({ 'Approov-Token': token() });
    expect(await client.send('device', { n: 1 })).toEqual({ event: 'device', data: 'device-1' });
    expect(await client.send('skipped-device', { n: 1 })).toEqual({
      event: 'skipped-device',
      data: null,
    });
  });

  it('logs each reject as a warning with its context, never at ERROR level', async () => {
    logCapture.logger.lines.length = 0;
    const client = await connect({});
    await client.send('device');
    expect(logCapture.logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    const line = logCapture.logger.lines.find((l) => l.message.includes('token_missing'));
    expect(line?.message).toContain('rejected token_missing ws WS device');
  });

  it('serves a @SkipApproov() handler without a token', async () => {
    const client = await connect({});
    expect(await client.send('ping')).toEqual({ event: 'ping', data: 'pong' });
  });

  it('never reads a token or claims from the message data', async () => {
    const client = await connect({});
    const spoof = { approov: { did: 'spoofed' }, headers: { 'approov-token': token() } };
    expect(await client.send('device', spoof)).toEqual(UNAUTHORIZED);
    expect(app.failures.map((f) => f.code)).toEqual(['token_missing']);
  });
});

describe.each([
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const)('protectAllRoutes with a gateway on %s', (_platform, createAdapter) => {
  it('refuses to boot while a gateway handler has neither ApproovGuard nor @SkipApproov()', async () => {
    const module = gatewayModule(UnguardedGateway, { secret, protectAllRoutes: true }, []);
    const error = await bootError(module, createAdapter);
    expect(error.message).toContain('UnguardedGateway.device');
    expect(error.message).toContain('@UseGuards(ApproovGuard)');
    expect(error.message).toContain('@SkipApproov()');
  });
});
