import {
  Body,
  Controller,
  HttpCode,
  Module,
  Post,
  Req,
  type INestApplication,
  type NestApplicationOptions,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import {
  ApproovMessageSigning,
  ApproovModule,
  type ApproovFailureCode,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { createApproovToken, signApproovRequest } from 'nestjs-approov/testing';
import { rawBodyCaptureOf } from '../../src/core/http/raw-body.js';
import { messageSigningFixture as fixture } from '../support/message-signing-vectors.js';
import { CapturingLogger } from '../support/log-capture.js';

type AdapterName = 'express' | 'fastify';

const SECRET = fixture.token_secret_base64;
const PRIVATE_KEY = fixture.test_private_key_pkcs8_or_sec1_der_base64;
const UNAUTHORIZED = '{"statusCode":401,"message":"Unauthorized"}';
const TOO_LARGE = '{"statusCode":413,"message":"Payload Too Large"}';
/** A content type no parser reads: on Fastify the app registers one that leaves the stream alone. */
const UNREAD_TYPE = 'application/x-unread';

@Controller()
class BodyController {
  @Post('signed')
  @HttpCode(200)
  @ApproovMessageSigning({ requireInstallationKey: true })
  signed(@Body() body: unknown): { body: unknown } {
    return { body: body ?? null };
  }

  // What the library did with the request stream of a route without signing.
  @Post('unsigned')
  @HttpCode(200)
  unsigned(@Req() request: { raw?: Readable } & Readable): {
    didRead: boolean;
    flowing: boolean | null;
    captured: boolean;
  } {
    const node = request.raw ?? request;
    return {
      didRead: node.readableDidRead,
      flowing: node.readableFlowing,
      captured: rawBodyCaptureOf(node) !== undefined,
    };
  }
}

interface RunningBodyApp {
  app: INestApplication;
  port: number;
  failures: ApproovFailureCode[];
  logger: CapturingLogger;
}

async function startBodyApp(
  adapter: AdapterName,
  appOptions: NestApplicationOptions,
  moduleOptions: Omit<ApproovModuleOptions, 'secret' | 'onFailure'> = {},
  setUp: (app: INestApplication) => void = () => undefined,
  createAdapter: () => ExpressAdapter | FastifyAdapter = () =>
    adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
): Promise<RunningBodyApp> {
  const failures: ApproovFailureCode[] = [];
  const logger = new CapturingLogger();
  @Module({
    imports: [
      ApproovModule.forRoot({
        ...moduleOptions,
        secret: SECRET,
        onFailure: (failure) => failures.push(failure.code),
      }),
    ],
    controllers: [BodyController],
  })
  class BodyModule {}
  const app = await NestFactory.create(BodyModule, createAdapter(), {
    ...appOptions,
    logger,
    abortOnError: false,
  });
  if (adapter === 'fastify') {
    app
      .getHttpAdapter()
      .getInstance()
      .addContentTypeParser(
        UNREAD_TYPE,
        (_request: unknown, _payload: unknown, done: (error: null, body: undefined) => void) =>
          done(null, undefined),
      );
  }
  setUp(app);
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port, failures, logger };
}

interface Reply {
  status: number;
  body: string;
}

/**
 * One HTTP/1.1 request with a byte body; `chunked` sends it without Content-Length. A reply that
 * comes before the whole body was sent is kept (the server may answer without reading it all).
 */
function sendBytes(
  port: number,
  path: string,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  { chunked = false } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let replied = false;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: false,
        timeout: 10_000,
        headers: chunked ? headers : { ...headers, 'content-length': body.length },
      },
      (res) => {
        replied = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (error) => {
      if (!replied) reject(error);
    });
    if (chunked) {
      const half = Math.floor(body.length / 2);
      req.write(body.subarray(0, half));
      req.end(body.subarray(half));
    } else {
      req.end(body);
    }
  });
}

/** Sends the headers and part of a chunked body, never the end; the reply, or a rejection after 5 s. */
function sendPartial(
  port: number,
  path: string,
  headers: OutgoingHttpHeaders,
  part: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path, agent: false, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer while the body was unfinished'));
    }, 5000);
    req.on('error', () => undefined);
    req.write(part);
  });
}

interface SignedPost {
  type: string;
  body: Buffer;
  /** The bytes the signature's Content-Digest is computed over (default: the body sent). */
  digestOver?: Buffer;
  headers?: Record<string, string>;
  chunked?: boolean;
}

/** A POST to /signed whose install signature covers content-type and content-digest. */
function signedPost(
  running: RunningBodyApp,
  { type, body, digestOver, headers = {}, chunked }: SignedPost,
): Promise<Reply> {
  const token = createApproovToken({
    secret: SECRET,
    claims: { ipk: fixture.ipk_spki_der_base64 },
  });
  const signature = signApproovRequest({
    privateKey: PRIVATE_KEY,
    method: 'POST',
    url: `http://127.0.0.1:${running.port}/signed`,
    token,
    body: digestOver ?? body,
    headers: { 'content-type': type },
  });
  return sendBytes(
    running.port,
    '/signed',
    { 'approov-token': token, 'content-type': type, ...headers, ...signature },
    body,
    { chunked },
  );
}

const JSON_BODY = Buffer.from('{"order":42,"note":"signed"}');
const FORM_BODY = Buffer.from('order=42&note=signed');
const TEXT_BODY = Buffer.from('signed text, not UTF-8: \xff\xfe', 'latin1');
const BINARY_BODY = Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x0d, 0x0a]);

const CONTENT_TYPES: ReadonlyArray<[string, Buffer]> = [
  ['application/json', JSON_BODY],
  ['application/x-www-form-urlencoded', FORM_BODY],
  ['text/plain', TEXT_BODY],
  ['application/octet-stream', BINARY_BODY],
];

const APP_SETUPS: ReadonlyArray<[string, NestApplicationOptions]> = [
  ['default body parsers, no rawBody', {}],
  ['rawBody: true', { rawBody: true }],
  ['bodyParser: false', { bodyParser: false }],
];

describe.each<AdapterName>(['express', 'fastify'])('signed request bodies on %s', (adapter) => {
  describe.each(APP_SETUPS)('%s', (_setup, appOptions) => {
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp(adapter, appOptions);
    });
    afterAll(async () => {
      await running.app.close();
    });
    beforeEach(() => {
      running.failures.length = 0;
    });

    it.each(CONTENT_TYPES)(
      'serves a signed %s body checked against its Content-Digest',
      async (type, body) => {
        const reply = await signedPost(running, { type, body });
        expect(reply.status).toBe(200);
        expect(running.failures).toEqual([]);
      },
    );

    it.each(CONTENT_TYPES)('rejects a %s body that is not the one signed', async (type, body) => {
      const reply = await signedPost(running, {
        type,
        body,
        digestOver: Buffer.concat([body, Buffer.from('x')]),
      });
      expect(reply).toEqual({ status: 401, body: UNAUTHORIZED });
      expect(running.failures).toEqual(['content_digest_mismatch']);
    });

    it('checks a body sent in chunks without Content-Length', async () => {
      const reply = await signedPost(running, {
        type: 'application/octet-stream',
        body: Buffer.alloc(100_000, 7),
        chunked: true,
      });
      expect(reply.status).toBe(200);
    });
  });

  describe('the handler still gets its parsed body', () => {
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp(adapter, {});
    });
    afterAll(async () => {
      await running.app.close();
    });

    it('JSON', async () => {
      const reply = await signedPost(running, { type: 'application/json', body: JSON_BODY });
      expect(JSON.parse(reply.body)).toEqual({ body: { order: 42, note: 'signed' } });
    });

    it('a form', async () => {
      const reply = await signedPost(running, {
        type: 'application/x-www-form-urlencoded',
        body: FORM_BODY,
      });
      expect(JSON.parse(reply.body)).toEqual({ body: { order: '42', note: 'signed' } });
    });
  });

  describe('bounded by maxBodyBytes', () => {
    const LIMIT = 4096;
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp(adapter, {}, { maxBodyBytes: LIMIT });
    });
    afterAll(async () => {
      await running.app.close();
    });
    beforeEach(() => {
      running.failures.length = 0;
    });

    it('serves a body of exactly the limit', async () => {
      const reply = await signedPost(running, {
        type: 'application/octet-stream',
        body: Buffer.alloc(LIMIT, 1),
      });
      expect(reply.status).toBe(200);
    });

    it.each([
      ['a declared Content-Length', false],
      ['a chunked body', true],
    ])('answers 413 one byte past the limit, with %s', async (_case, chunked) => {
      const reply = await signedPost(running, {
        type: 'application/octet-stream',
        body: Buffer.alloc(LIMIT + 1, 1),
        chunked,
      });
      expect(reply).toEqual({ status: 413, body: TOO_LARGE });
      expect(running.failures).toEqual(['request_body_too_large']);
    });

    it('verifies the signature before the body: a forged one gets 401, not 413, without the body being read', async () => {
      const token = createApproovToken({
        secret: SECRET,
        claims: { ipk: fixture.ipk_spki_der_base64 },
      });
      const body = Buffer.alloc(LIMIT * 4, 1);
      // Signed for another method: the token passes, the signature does not.
      const forged = signApproovRequest({
        privateKey: PRIVATE_KEY,
        method: 'PUT',
        url: `http://127.0.0.1:${running.port}/signed`,
        token,
        body,
      });
      const headers = {
        'approov-token': token,
        'content-type': 'application/octet-stream',
        ...forged,
      };
      expect(await sendBytes(running.port, '/signed', headers, body)).toEqual({
        status: 401,
        body: UNAUTHORIZED,
      });
      // Half a body that never ends: an answer at all shows the guard did not wait for the rest.
      expect(
        await sendPartial(running.port, '/signed', headers, body.subarray(0, LIMIT / 2)),
      ).toEqual({ status: 401, body: UNAUTHORIZED });
      expect(running.failures).toEqual(['install_signature_invalid', 'install_signature_invalid']);
    });

    it('answers 413 for a parsed JSON body past the limit too', async () => {
      const body = Buffer.from(JSON.stringify({ pad: 'x'.repeat(LIMIT) }));
      const reply = await signedPost(running, { type: 'application/json', body });
      expect(reply).toEqual({ status: 413, body: TOO_LARGE });
    });
  });

  describe("bounded by the adapter's default when maxBodyBytes is not set", () => {
    // Fastify: its bodyLimit (set low here); Express: 1 MiB.
    const LIMIT = adapter === 'fastify' ? 2048 : 1024 * 1024;
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp(adapter, {}, {}, undefined, () =>
        adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter({ bodyLimit: LIMIT }),
      );
    });
    afterAll(async () => {
      await running.app.close();
    });

    it('serves a body of exactly the limit', async () => {
      expect(
        (
          await signedPost(running, {
            type: 'application/octet-stream',
            body: Buffer.alloc(LIMIT, 2),
          })
        ).status,
      ).toBe(200);
    });

    it('answers 413 one byte past it', async () => {
      const reply = await signedPost(running, {
        type: 'application/octet-stream',
        body: Buffer.alloc(LIMIT + 1, 2),
      });
      expect(reply).toEqual({ status: 413, body: TOO_LARGE });
    });
  });

  describe('bounded in monitor mode too', () => {
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp(adapter, {}, { maxBodyBytes: 16, mode: 'monitor' });
    });
    afterAll(async () => {
      await running.app.close();
    });

    it('answers 413 although monitor mode serves rejects: the body was not read to its end', async () => {
      const reply = await signedPost(running, {
        type: 'application/octet-stream',
        body: Buffer.alloc(17, 1),
      });
      expect(reply).toEqual({ status: 413, body: TOO_LARGE });
      expect(running.failures).toEqual(['request_body_too_large']);
    });
  });

  describe('a route without signing', () => {
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp(adapter, {});
    });
    afterAll(async () => {
      await running.app.close();
    });

    const LARGE = Buffer.alloc(4 * 1024 * 1024, 0x61);

    it('never reads a large body, nor keeps it, when the request carries no signature', async () => {
      const reply = await sendBytes(
        running.port,
        '/unsigned',
        { 'content-type': UNREAD_TYPE },
        LARGE,
      );
      expect(JSON.parse(reply.body)).toEqual({ didRead: false, flowing: null, captured: false });
    });

    it('never reads a large body even when its headers claim a signature over it (the capture only watches)', async () => {
      const headers = {
        'content-type': UNREAD_TYPE,
        'approov-token': createApproovToken({ secret: SECRET }),
        'signature-input': 'install=("content-digest")',
        'content-digest': 'sha-256=:AA==:',
      };
      const reply = await sendBytes(running.port, '/unsigned', headers, LARGE);
      expect(JSON.parse(reply.body)).toEqual({ didRead: false, flowing: null, captured: true });
    });

    it('keeps nothing for such headers without a valid token: the guard would reject it on its token', async () => {
      const headers = {
        'content-type': UNREAD_TYPE,
        'approov-token': createApproovToken({ secret: SECRET, expiresIn: -60 }),
        'signature-input': 'install=("content-digest")',
        'content-digest': 'sha-256=:AA==:',
      };
      const reply = await sendBytes(running.port, '/unsigned', headers, LARGE);
      expect(JSON.parse(reply.body)).toEqual({ didRead: false, flowing: null, captured: false });
    });
  });
});

describe('gzip bodies (Content-Encoding: gzip, the digest over the compressed bytes)', () => {
  const json = Buffer.from('{"zipped":true}');
  const gzipped = gzipSync(json);

  describe('on Express, which inflates them itself', () => {
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp('express', { rawBody: true });
    });
    afterAll(async () => {
      await running.app.close();
    });
    beforeEach(() => {
      running.failures.length = 0;
    });

    it('serves the request and hands the handler the inflated, parsed body', async () => {
      const reply = await signedPost(running, {
        type: 'application/json',
        body: gzipped,
        headers: { 'content-encoding': 'gzip' },
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toEqual({ body: { zipped: true } });
    });

    it('rejects a digest computed over the inflated bytes instead of the bytes sent', async () => {
      const reply = await signedPost(running, {
        type: 'application/json',
        body: gzipped,
        digestOver: json,
        headers: { 'content-encoding': 'gzip' },
      });
      expect(reply).toEqual({ status: 401, body: UNAUTHORIZED });
      expect(running.failures).toEqual(['content_digest_mismatch']);
    });
  });

  describe('on Fastify with a decompressing preParsing hook, as the docs describe', () => {
    let running: RunningBodyApp;
    beforeAll(async () => {
      running = await startBodyApp('fastify', {}, {}, (app) => {
        const fastify = app.getHttpAdapter().getInstance();
        fastify.addHook(
          'preParsing',
          (
            request: { headers: Record<string, string> },
            _reply: unknown,
            payload: Readable,
            done: (error: null, stream: Readable) => void,
          ) => {
            if (request.headers['content-encoding'] !== 'gzip') return done(null, payload);
            let received = 0;
            const counted = payload.pipe(
              new Transform({
                transform(chunk: Buffer, _encoding, next) {
                  received += chunk.length;
                  next(null, chunk);
                },
              }),
            );
            const inflated = counted.pipe(createGunzip());
            // Fastify compares Content-Length with the bytes received, not with the inflated length.
            Object.defineProperty(inflated, 'receivedEncodedLength', { get: () => received });
            done(null, inflated);
          },
        );
      });
    });
    afterAll(async () => {
      await running.app.close();
    });

    it('serves the request and hands the handler the inflated, parsed body', async () => {
      const reply = await signedPost(running, {
        type: 'application/json',
        body: gzipped,
        headers: { 'content-encoding': 'gzip' },
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toEqual({ body: { zipped: true } });
    });

    it('answers a large gzip body of a type without a parser: the inflated stream nobody reads is drained', async () => {
      // Incompressible bytes stored uncompressed: past the stream buffers, so an unread inflated stream would stall the request.
      const body = gzipSync(randomBytes(300 * 1024), { level: 0 });
      const reply = await signedPost(running, {
        type: 'application/octet-stream',
        body,
        headers: { 'content-encoding': 'gzip' },
      });
      expect(reply.status).toBe(200);
    });
  });
});

/** Routes without signing only: the module adds no hook and no parser. */
@Controller()
class PlainController {
  @Post('unsigned')
  @HttpCode(200)
  unsigned(): { ok: true } {
    return { ok: true };
  }
}

describe('Fastify content types without a parser', () => {
  let running: RunningBodyApp;
  let plain: INestApplication;
  let plainPort: number;
  beforeAll(async () => {
    running = await startBodyApp('fastify', {});
    @Module({
      imports: [ApproovModule.forRoot({ secret: SECRET })],
      controllers: [PlainController],
    })
    class PlainModule {}
    plain = await NestFactory.create(PlainModule, new FastifyAdapter(), {
      logger: false,
      abortOnError: false,
    });
    await plain.listen(0, '127.0.0.1');
    plainPort = (plain.getHttpServer().address() as { port: number }).port;
  });
  afterAll(async () => {
    await running.app.close();
    await plain.close();
  });

  it("still get Fastify's own 415 when the request claims no signature over its body", async () => {
    const native = await sendBytes(
      plainPort,
      '/unsigned',
      { 'content-type': 'application/octet-stream' },
      BINARY_BODY,
    );
    const reply = await sendBytes(
      running.port,
      '/unsigned',
      { 'content-type': 'application/octet-stream' },
      BINARY_BODY,
    );
    expect(native.status).toBe(415);
    expect(reply).toEqual(native);
  });

  it("still get Fastify's own 415 on a route without signing, though the request claims a signature over its body", async () => {
    const claims = {
      'content-type': 'application/octet-stream',
      'signature-input': 'install=("content-digest")',
      'content-digest': 'sha-256=:AA==:',
    };
    const native = await sendBytes(plainPort, '/unsigned', claims, BINARY_BODY);
    const reply = await sendBytes(running.port, '/unsigned', claims, BINARY_BODY);
    expect(native.status).toBe(415);
    expect(reply).toEqual(native);
  });
});

/**
 * A server ApproovModule does not listen on (as in a serverless handler): no capture starts when
 * the request arrives, so the guard reads the stream when nothing else has, else falls back to
 * Nest's rawBody (bytes as sent when the body is not encoded), else fails closed and warns once.
 */
describe.each<AdapterName>(['express', 'fastify'])(
  'on a server ApproovModule does not listen on (%s)',
  (adapter) => {
    async function startDetached(
      appOptions: NestApplicationOptions,
    ): Promise<RunningBodyApp & { server: Server }> {
      const failures: ApproovFailureCode[] = [];
      const logger = new CapturingLogger();
      @Module({
        imports: [
          ApproovModule.forRoot({
            secret: SECRET,
            onFailure: (failure) => failures.push(failure.code),
          }),
        ],
        controllers: [BodyController],
      })
      class DetachedModule {}
      const app = await NestFactory.create(
        DetachedModule,
        adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
        {
          ...appOptions,
          logger,
          abortOnError: false,
        },
      );
      await app.init();
      const instance = app.getHttpAdapter().getInstance();
      let server: Server;
      if (adapter === 'fastify') {
        await instance.ready();
        server = createServer((request, response) => instance.routing(request, response));
      } else {
        server = createServer(instance);
      }
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { app, server, port: (server.address() as { port: number }).port, failures, logger };
    }
    async function stop(running: RunningBodyApp & { server: Server }): Promise<void> {
      await new Promise((resolve) => running.server.close(resolve));
      await running.app.close();
    }

    it("checks a parsed JSON body against Nest's rawBody when the app keeps one", async () => {
      const running = await startDetached({ rawBody: true });
      try {
        expect(
          (await signedPost(running, { type: 'application/json', body: JSON_BODY })).status,
        ).toBe(200);
      } finally {
        await stop(running);
      }
    });

    it('fails closed on a body parsed without rawBody, and warns once', async () => {
      const running = await startDetached({});
      try {
        for (let i = 0; i < 2; i++) {
          expect(await signedPost(running, { type: 'application/json', body: JSON_BODY })).toEqual({
            status: 401,
            body: UNAUTHORIZED,
          });
        }
        expect(running.failures).toEqual(['content_digest_mismatch', 'content_digest_mismatch']);
        expect(
          running.logger.lines.filter((line) => line.message.includes('could not be read')),
        ).toHaveLength(1);
      } finally {
        await stop(running);
      }
    });

    if (adapter === 'express') {
      it('reads a body no parser consumed, in the guard', async () => {
        const running = await startDetached({});
        try {
          expect(
            (await signedPost(running, { type: 'application/octet-stream', body: BINARY_BODY }))
              .status,
          ).toBe(200);
        } finally {
          await stop(running);
        }
      });
    }
  },
);
