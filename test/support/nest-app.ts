import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { httpGet, httpRequest, type HeaderLines, type HttpResponse } from './http-client.js';
import { logCapture } from './log-capture.js';

// The one app harness of the e2e suites: every Nest test app boots here, on both adapters, with
// the capturing logger, on an ephemeral 127.0.0.1 port.

export type AdapterFactory = () => ExpressAdapter | FastifyAdapter;

/** The two platforms every e2e suite runs on: describe.each(ADAPTERS)('... on %s', (_name, createAdapter) => ...). */
export const ADAPTERS: ReadonlyArray<readonly [string, AdapterFactory]> = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
];

export interface StartOptions {
  /** Nest's rawBody option (message signing checks Content-Digest against it). Default false. */
  rawBody?: boolean;
  /** Runs on the created app before it listens (body parsers, global pipes...). */
  configure?: (app: INestApplication) => void;
  /** Starts the microservices `configure` connected (a hybrid app) before the app listens. */
  startMicroservices?: boolean;
}

export interface RunningApp {
  app: INestApplication;
  baseUrl: string;
  port: number;
  get(path: string, headers?: HeaderLines): Promise<HttpResponse>;
  request(
    method: string,
    path: string,
    headers?: HeaderLines,
    body?: string | Buffer,
  ): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** Creates the app with the capturing logger and listens on an ephemeral 127.0.0.1 port. */
export async function startApp(
  module: Type | DynamicModule,
  createAdapter: AdapterFactory,
  { rawBody = false, configure, startMicroservices = false }: StartOptions = {},
): Promise<RunningApp> {
  logCapture.start();
  const app = await NestFactory.create(module, createAdapter(), {
    logger: logCapture.logger,
    abortOnError: false,
    rawBody,
  });
  configure?.(app);
  if (startMicroservices) await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    baseUrl,
    port,
    get: (path, headers) => httpGet(baseUrl, path, headers),
    request: (method, path, headers, body) => httpRequest(baseUrl, method, path, headers, body),
    close: () => app.close(),
  };
}

/** Boots the app expecting a failure; resolves with what it threw (or fails when it starts). */
export async function bootError(
  module: Type | DynamicModule,
  createAdapter: AdapterFactory,
): Promise<Error> {
  logCapture.start();
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(module, createAdapter(), {
      logger: logCapture.logger,
      abortOnError: false,
    });
  } catch (error) {
    return error as Error;
  }
  await app.close();
  throw new Error('the app started although its configuration is bad');
}
