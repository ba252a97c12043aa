import { Body, Controller, Get, Module, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ApproovBinding, ApproovGuard, ApproovModule, type ApproovFailure } from 'nestjs-approov';

// Shared by the transport and HTTP fuzz specs: one small app with the sample app's routes,
// and a raw-socket client for requests that fetch would normalise (duplicates, raw bytes).

const OK = { message: 'Hello, World!' };

@Controller()
class HardeningController {
  @Get('hello')
  hello() {
    return OK;
  }

  @Get('token-check')
  @UseGuards(ApproovGuard)
  tokenCheck() {
    return OK;
  }

  @Post('token-check')
  @UseGuards(ApproovGuard)
  tokenCheckPost(@Body() _body: unknown) {
    return OK;
  }

  @Get('token-binding')
  @ApproovBinding()
  tokenBinding() {
    return OK;
  }

  @Get('token-double-binding')
  @ApproovBinding('Authorization', 'SessionId')
  tokenDoubleBinding() {
    return OK;
  }
}

export const adapters = [
  ['express', () => new ExpressAdapter()],
  ['fastify', () => new FastifyAdapter()],
] as const;

export interface HardeningApp {
  app: INestApplication;
  port: number;
  /** Reject reasons reported through onFailure, in order. */
  failures: ApproovFailure[];
  close(): Promise<void>;
}

export async function startHardeningApp(
  secret: string,
  createAdapter: () => ExpressAdapter | FastifyAdapter,
): Promise<HardeningApp> {
  const failures: ApproovFailure[] = [];
  @Module({
    imports: [ApproovModule.forRoot({ secret, onFailure: (failure) => failures.push(failure) })],
    controllers: [HardeningController],
  })
  class HardeningModule {}

  const app = await NestFactory.create(HardeningModule, createAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return { app, port, failures, close: () => app.close() };
}

export interface RawResponse {
  status: number;
  body: string;
}

/**
 * Sends raw request bytes on a fresh loopback socket and reads the response until the server
 * closes it. The request should carry `Connection: close`. Bounded by `timeoutMs`.
 */
export function rawRequest(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      let text = Buffer.concat(chunks).toString('latin1');
      // Skip interim 1xx responses (a fuzzed `Expect: 100-continue` gets one first).
      while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.includes('\r\n\r\n')) {
        text = text.slice(text.indexOf('\r\n\r\n') + 4);
      }
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (match !== null) {
        const bodyStart = text.indexOf('\r\n\r\n');
        resolve({ status: Number(match[1]), body: bodyStart === -1 ? '' : text.slice(bodyStart + 4) });
      } else {
        reject(error ?? new Error(`no HTTP response (${chunks.length} chunks)`));
      }
    };
    socket.setTimeout(timeoutMs, () => finish(new Error('raw request timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    // The server may answer (431, 400) and close while we still write: keep what it sent.
    socket.on('error', (error) => finish(error));
    socket.write(request);
  });
}

/** Builds an HTTP/1.1 request with these header lines, verbatim and in order (duplicates kept). */
export function buildRequest(
  method: string,
  path: string,
  headers: readonly (readonly [string, string | Buffer])[],
  body?: string,
): Buffer {
  const parts: Buffer[] = [Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`, 'latin1')];
  for (const [name, value] of headers) {
    parts.push(Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value, Buffer.from('\r\n'));
  }
  if (body !== undefined) parts.push(Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
  parts.push(Buffer.from('\r\n'));
  if (body !== undefined) parts.push(Buffer.from(body));
  return Buffer.concat(parts);
}

export const UNAUTHORIZED_BODY = JSON.stringify({ statusCode: 401, message: 'Unauthorized' });
export const OK_BODY = JSON.stringify(OK);
