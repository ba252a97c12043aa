import { Body, Controller, HttpCode, Module, Post, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { connect, type ClientHttp2Session } from 'node:http2';
import { ApproovMessageSigning, ApproovModule } from 'nestjs-approov';
import { createApproovToken, signApproovRequest } from 'nestjs-approov/testing';
import { messageSigningFixture as fixture } from '../support/message-signing-vectors.js';

// Fastify over cleartext HTTP/2: the request stream is an Http2ServerRequest, fed by the same push().
const SECRET = fixture.token_secret_base64;

@Controller()
class Http2Controller {
  @Post('signed')
  @HttpCode(200)
  @ApproovMessageSigning({ requireInstallationKey: true })
  signed(@Body() body: unknown): { body: unknown } {
    return { body: body ?? null };
  }
}

describe('signed request bodies over HTTP/2 (Fastify)', () => {
  let app: INestApplication;
  let session: ClientHttp2Session;
  let origin: string;
  beforeAll(async () => {
    @Module({
      imports: [ApproovModule.forRoot({ secret: SECRET })],
      controllers: [Http2Controller],
    })
    class Http2Module {}
    app = await NestFactory.create(Http2Module, new FastifyAdapter({ http2: true }), {
      logger: false,
      abortOnError: false,
    });
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    session = connect(origin);
  });
  afterAll(async () => {
    session.close();
    await app.close();
  });

  function post(
    type: string,
    body: Buffer,
    digestOver: Buffer = body,
  ): Promise<{ status: number; body: string }> {
    const token = createApproovToken({
      secret: SECRET,
      claims: { ipk: fixture.ipk_spki_der_base64 },
    });
    const signature = signApproovRequest({
      privateKey: fixture.test_private_key_pkcs8_or_sec1_der_base64,
      method: 'POST',
      url: `${origin}/signed`,
      token,
      body: digestOver,
      headers: { 'content-type': type },
    });
    const headers = Object.fromEntries(
      Object.entries(signature).map(([name, value]) => [name.toLowerCase(), value as string]),
    );
    return new Promise((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/signed',
        'approov-token': token,
        'content-type': type,
        ...headers,
      });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (responseHeaders) => (status = Number(responseHeaders[':status'])));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      stream.on('error', reject);
      stream.end(body);
    });
  }

  it.each([
    ['application/json', Buffer.from('{"order":42}')],
    ['application/octet-stream', Buffer.from([0, 1, 254, 255])],
  ])('serves a signed %s body', async (type, body) => {
    expect((await post(type, body)).status).toBe(200);
  });

  it('rejects a body that is not the one signed', async () => {
    const body = Buffer.from([0, 1, 254, 255]);
    expect(await post('application/octet-stream', body, Buffer.from([9]))).toEqual({
      status: 401,
      body: '{"statusCode":401,"message":"Unauthorized"}',
    });
  });
});
