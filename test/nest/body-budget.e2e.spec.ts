import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { jest } from '@jest/globals';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import {
  createApproovKeyPair,
  createApproovKeysetToken,
  createApproovToken,
  signApproovRequest,
  startApproovJwksServer,
} from 'nestjs-approov/testing';
import { fakeDate, realClock } from '../support/fake-clock.js';
import { rawBodyAdmission } from '../../src/approov.raw-body-capture.js';
import { UseGuards } from '@nestjs/common';
import { messageSigningFixture as fixture } from '../support/message-signing-vectors.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';
import { logCapture } from '../support/log-capture.js';

// The raw-body budget against a stranger: a flood of slow bodies that claim a covered
// Content-Digest without a valid token holds none of it, one client's verified bodies hold at
// most its share (the genuine request then gets 503, never 401), a body that stalls is dropped at
// `bodyTimeoutSec` (408), and a signed route answers an iOS and an Android upload of the same
// bytes alike, whatever the content type.

const SECRET = fixture.token_secret_base64;
const PRIVATE_KEY = fixture.test_private_key_pkcs8_or_sec1_der_base64;
const IPK = fixture.ipk_spki_der_base64;

/** Flood sockets, and the body bytes each sends before it stalls: 300 × 240 KiB = 70 MiB, past the 64 MiB budget. */
const FLOOD_SOCKETS = 300;
const FLOOD_PART = 240 * 1024;
/** One client's verified bodies: 70 × 240 KiB, past its quarter (16 MiB) of the budget. */
const VERIFIED_SOCKETS = 70;

@Controller()
@UseGuards(ApproovGuard)
class BodyController {
  @Post('signed')
  @HttpCode(200)
  @ApproovMessageSigning()
  signed(@Body() body: unknown): { ok: true; bytes: number | null } {
    return { ok: true, bytes: Buffer.isBuffer(body) ? body.length : null };
  }
}

@Controller()
class OpenController {
  @Post('hello')
  @HttpCode(200)
  hello(): { ok: true } {
    return { ok: true };
  }
}

function moduleWith(options: ApproovModuleOptions = { secret: SECRET }) {
  @Module({
    imports: [ApproovModule.forRoot(options)],
    controllers: [BodyController, OpenController],
  })
  class BodyBudgetModule {}
  return BodyBudgetModule;
}

let serial = 0;
/** A JSON body no other request of this file sends: identical signed requests would be replays. */
const genuineBody = (padding = 0): Buffer =>
  Buffer.from(JSON.stringify({ order: ++serial, note: 'genuine', padding: ' '.repeat(padding) }));

const token = (did?: string): string =>
  createApproovToken({ secret: SECRET, claims: { ipk: IPK, did } });

/** Headers of a signed POST to /signed with `body`, as the SDK `sdk` signs it. */
function signedHeaders(
  port: number,
  body: Buffer,
  type: string,
  sdk: 'android' | 'ios' = 'android',
  approovToken = token(),
): Record<string, string> {
  const signature = signApproovRequest({
    privateKey: PRIVATE_KEY,
    method: 'POST',
    url: `http://127.0.0.1:${port}/signed`,
    token: approovToken,
    body,
    headers: { 'content-type': type },
    sdk,
  });
  return { 'approov-token': approovToken, 'content-type': type, ...signature };
}

/** A whole request: its status and body. */
async function postForReply(
  running: RunningApp,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${running.baseUrl}/signed`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.json() };
}

/** A whole request on its own socket: its status. */
async function post(
  running: RunningApp,
  headers: Record<string, string>,
  body: Buffer,
): Promise<number> {
  const response = await fetch(`${running.baseUrl}/signed`, {
    method: 'POST',
    headers,
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** Opens `count` sockets that each send `headers` and `part` of a longer body, then stall. */
function stallBodies(
  port: number,
  count: number,
  headers: Record<string, string>,
  part: Buffer,
): Socket[] {
  const head =
    'POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    `Content-Length: ${part.length * 4}\r\n\r\n`;
  return Array.from({ length: count }, () => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.write(head);
    socket.write(part);
    return socket;
  });
}

/** Resolves once the server has read `bytes` or more from each of `count` connections to /hello (at most 20 s). */
async function serverHasRead(seen: IncomingMessage[], count: number, bytes: number): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    const read = seen.filter((request) => (request.socket?.bytesRead ?? 0) >= bytes).length;
    if (read >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the flood did not reach the server');
}

async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once('close', () => resolve());
          socket.destroy();
        }),
    ),
  );
}

describe.each(ADAPTERS)('the raw-body budget on %s', (_name, createAdapter) => {
  let running: RunningApp;
  const seen: IncomingMessage[] = [];
  const part = Buffer.alloc(FLOOD_PART, 0x20); // JSON whitespace: a parser reads it all

  beforeAll(async () => {
    running = await startApp(moduleWith(), createAdapter, {
      configure: (app) => {
        // Express reads JSON up to 100 kB by default: the flood's bodies must be read to fill anything.
        if (_name === 'Express')
          (app as unknown as { useBodyParser(type: string, options: object): void }).useBodyParser(
            'json',
            { limit: '2mb' },
          );
        app.getHttpServer().on('request', (request: IncomingMessage) => {
          if (request.url === '/hello') seen.push(request);
        });
      },
    });
  });
  afterAll(async () => {
    await running.close();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('a tokenless slow-body flood holds none of it: a genuine signed POST covering its body still gets 200', async () => {
    const claims = {
      'content-type': 'application/json',
      'signature-input': 'install=("@method" "content-digest");created=1',
      'content-digest': 'sha-256=:AA==:',
    };
    const flood = stallBodies(running.port, FLOOD_SOCKETS, claims, part);
    try {
      await serverHasRead(seen, FLOOD_SOCKETS, FLOOD_PART);
      const statuses = await Promise.all(
        // As large as a flood body: it fits only where the flood holds nothing.
        [0, 1, 2].map(() => {
          const body = genuineBody(FLOOD_PART);
          return post(running, signedHeaders(running.port, body, 'application/json'), body);
        }),
      );
      expect(statuses).toEqual([200, 200, 200]);
    } finally {
      await closeAll(flood);
    }
  });

  it("one device's verified bodies hold at most its share: its next request gets 503, never 401, another device on the same address 200, and it 200 once they end", async () => {
    const claims = {
      'approov-token': token('device-a'),
      'content-type': 'application/json',
      'signature-input': 'install=("@method" "content-digest");created=1',
      'content-digest': 'sha-256=:AA==:',
    };
    const flood = stallBodies(running.port, VERIFIED_SOCKETS, claims, part);
    try {
      await serverHasRead(seen, VERIFIED_SOCKETS, FLOOD_PART);
      // The flood's last bodies found no room and were dropped: less than FLOOD_PART is left.
      const body = genuineBody(FLOOD_PART);
      const status = await post(
        running,
        signedHeaders(running.port, body, 'application/json', 'android', token('device-a')),
        body,
      );
      expect(status).toBe(503);
      expect(logCapture.text()).toContain('request_body_budget_full');
      // Another device from the same address (a NAT, or every client behind a proxy) has its own share.
      const other = genuineBody(FLOOD_PART);
      const neighbour = await post(
        running,
        signedHeaders(running.port, other, 'application/json', 'android', token('device-b')),
        other,
      );
      expect(neighbour).toBe(200);
    } finally {
      await closeAll(flood);
    }
    // The budget is given back when the connections close.
    for (let round = 0; round < 50; round++) {
      const body = genuineBody();
      const status = await post(
        running,
        signedHeaders(running.port, body, 'application/json', 'android', token('device-a')),
        body,
      );
      if (status !== 503) {
        expect(status).toBe(200);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the budget was not given back');
  });

  it.each([
    ['application/octet-stream', Buffer.from([0, 1, 2, 3, 254, 255])],
    [
      'multipart/form-data; boundary=xyz',
      Buffer.from(
        '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\nabc\r\n--xyz--\r\n',
      ),
    ],
  ])(
    'an iOS upload (digest not covered) and an Android upload (covered) of %s get the same status',
    async (type, body) => {
      const ios = await post(running, signedHeaders(running.port, body, type, 'ios'), body);
      const android = await post(running, signedHeaders(running.port, body, type, 'android'), body);
      expect([ios, android]).toEqual([200, 200]);
    },
  );
});

describe.each(ADAPTERS)('a body slower than bodyTimeoutSec on %s', (_name, createAdapter) => {
  let running: RunningApp;
  beforeAll(async () => {
    running = await startApp(moduleWith({ secret: SECRET, bodyTimeoutSec: 1 }), createAdapter);
  });
  afterAll(async () => {
    await running.close();
  });

  it('is dropped and answered 408, not 401, and the server closes the connection', async () => {
    const body = Buffer.alloc(64 * 1024, 7);
    const headers = signedHeaders(running.port, body, 'application/octet-stream');
    const socket = connect({ host: '127.0.0.1', port: running.port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server ends the connection itself: the client never closes it before the assertions.
    const answer = new Promise<string>((resolve) =>
      socket.on('end', () => resolve(Buffer.concat(chunks).toString())),
    );
    socket.on('error', () => undefined);
    socket.write(
      `POST /signed HTTP/1.1\r\nHost: 127.0.0.1:${running.port}\r\n` +
        Object.entries(headers)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('') +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, 1000));
    try {
      const reply = await answer;
      expect(reply.slice(0, 12)).toBe('HTTP/1.1 408');
      expect(reply.toLowerCase()).toContain('\r\nconnection: close\r\n');
    } finally {
      socket.destroy();
    }
  });
});

describe.each(ADAPTERS)(
  'the first token of a key not fetched yet, on %s',
  (_name, createAdapter) => {
    const ISSUER = 'https://approov.example';
    const AUDIENCE = 'api.example.com';
    const oldKey = createApproovKeyPair('ES256', 'old');
    const newKey = createApproovKeyPair('ES256', 'new');
    let running: RunningApp;
    let jwks: Awaited<ReturnType<typeof startApproovJwksServer>>;
    beforeAll(async () => {
      fakeDate();
      jwks = await startApproovJwksServer(oldKey);
      running = await startApp(
        moduleWith({
          jwksUri: jwks.url,
          issuer: ISSUER,
          audience: AUDIENCE,
          keyset: { cooldownSec: 1 },
        }),
        createAdapter,
      );
    });
    afterAll(async () => {
      await running.close();
      await jwks.close();
      realClock();
    });

    it('has its body kept in the pending share while the guard fetches the key: 200, not 401', async () => {
      jwks.setKeys(oldKey, newKey);
      jest.setSystemTime(Date.now() + 1_100); // past the refetch cooldown
      const newToken = createApproovKeysetToken({
        key: newKey,
        claims: { iss: ISSUER, aud: AUDIENCE, did: 'device-1', ipk: IPK },
      });
      const body = genuineBody();
      const headers = signedHeaders(running.port, body, 'application/json', 'android', newToken);
      expect(await post(running, headers, body)).toBe(200);
    });
  },
);

describe.each(ADAPTERS)('an octet-stream parser of the app, on %s', (name, createAdapter) => {
  let running: RunningApp;
  beforeAll(async () => {
    running = await startApp(moduleWith(), createAdapter, {
      configure: (app) => {
        if (name === 'Express') {
          (app as unknown as { useBodyParser(type: string): void }).useBodyParser('raw');
          return;
        }
        const fastify = app.getHttpAdapter().getInstance() as {
          addContentTypeParser(
            type: string,
            options: { parseAs: 'buffer' },
            parser: (request: unknown, body: Buffer, done: (e: null, b: Buffer) => void) => void,
          ): void;
        };
        fastify.addContentTypeParser(
          'application/octet-stream',
          { parseAs: 'buffer' },
          (_request, body, done) => done(null, body),
        );
      },
    });
  });
  afterAll(async () => {
    await running.close();
  });

  it('gives the handler the bytes for an iOS and an Android upload alike, with signing on', async () => {
    const body = Buffer.from([9, 8, 7, 6, 5, 0, 255]);
    const type = 'application/octet-stream';
    const ios = await postForReply(running, signedHeaders(running.port, body, type, 'ios'), body);
    const android = await postForReply(
      running,
      signedHeaders(running.port, body, type, 'android'),
      body,
    );
    expect([ios, android]).toEqual([
      { status: 200, body: { ok: true, bytes: 7 } },
      { status: 200, body: { ok: true, bytes: 7 } },
    ]);
  });
});

describe.each(ADAPTERS)(
  'two ApproovModule instances with their own secrets, on %s',
  (_n, createAdapter) => {
    const OTHER_SECRET = randomBytes(32).toString('base64');

    @Controller('other')
    @UseGuards(ApproovGuard)
    class OtherController {
      @Post('signed')
      @HttpCode(200)
      @ApproovMessageSigning()
      signed(): { ok: true } {
        return { ok: true };
      }
    }

    @Module({
      imports: [ApproovModule.forRoot({ secret: OTHER_SECRET, isGlobal: false })],
      controllers: [OtherController],
    })
    class OtherModule {}

    @Module({
      imports: [ApproovModule.forRoot({ secret: SECRET, isGlobal: false })],
      controllers: [BodyController],
    })
    class FirstModule {}

    @Module({ imports: [FirstModule, OtherModule] })
    class TwoModules {}

    let running: RunningApp;
    beforeAll(async () => {
      running = await startApp(TwoModules, createAdapter);
    });
    afterAll(async () => {
      await running.close();
    });

    it("keeps the body of a token that only the second module's secret verifies", async () => {
      const otherToken = createApproovToken({ secret: OTHER_SECRET, claims: { ipk: IPK } });
      const body = genuineBody(1000); // JSON: the app's parser reads it before the guard
      const signature = signApproovRequest({
        privateKey: PRIVATE_KEY,
        method: 'POST',
        url: `${running.baseUrl}/other/signed`,
        token: otherToken,
        body,
        headers: { 'content-type': 'application/json' },
      });
      const response = await fetch(`${running.baseUrl}/other/signed`, {
        method: 'POST',
        headers: { 'approov-token': otherToken, 'content-type': 'application/json', ...signature },
        body,
      });
      expect(response.status).toBe(200);
      const first = genuineBody();
      expect(
        await post(running, signedHeaders(running.port, first, 'application/json'), first),
      ).toBe(200);
    });
  },
);

describe('rawBodyAdmission', () => {
  const answering =
    (...results: Array<{ ok: true; claims: object } | { ok: false; code: string }>) =>
    () =>
      results.map((result) => ({ verifyRequest: () => result }) as never);

  it('admits the best answer of all verifiers: verified (with its device when the token names one), else pending, else refused', () => {
    const request = {} as never;
    const refused = { ok: false as const, code: 'token_signature_invalid' };
    const pending = { ok: false as const, code: 'token_key_id_unknown' };
    const unavailable = { ok: false as const, code: 'keyset_unavailable' };
    const verified = { ok: true as const, claims: {} };
    const device = { ok: true as const, claims: { did: 'device-a' } };
    expect(rawBodyAdmission(answering(refused, verified)(), request)).toBe('verified');
    expect(rawBodyAdmission(answering(refused, device)(), request)).toEqual({ device: 'device-a' });
    expect(rawBodyAdmission(answering({ ok: true, claims: { did: '' } })(), request)).toBe(
      'verified',
    );
    expect(rawBodyAdmission(answering(pending, refused)(), request)).toBe('pending');
    expect(rawBodyAdmission(answering(refused, unavailable)(), request)).toBe('pending');
    expect(rawBodyAdmission(answering(refused)(), request)).toBe('refused');
  });
});
