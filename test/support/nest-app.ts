import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { httpGet, type HeaderLines, type HttpResponse } from './http-client.js';
import { logCapture } from './log-capture.js';

/** The two platforms every e2e suite runs on. */
export const ADAPTERS = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

export type AdapterFactory = (typeof ADAPTERS)[number][1];

export interface RunningApp {
  app: INestApplication;
  baseUrl: string;
  get(path: string, headers?: HeaderLines): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** Creates the app with the capturing logger, listens on an ephemeral 127.0.0.1 port. */
export async function startApp(module: Type | DynamicModule, createAdapter: AdapterFactory): Promise<RunningApp> {
  logCapture.start();
  const app = await NestFactory.create(module, createAdapter(), { logger: logCapture.logger, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    baseUrl,
    get: (path, headers) => httpGet(baseUrl, path, headers),
    close: () => app.close(),
  };
}

/** Boots the app expecting a failure; resolves with what it threw (or fails when it starts). */
export async function bootError(module: Type | DynamicModule, createAdapter: AdapterFactory): Promise<Error> {
  logCapture.start();
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(module, createAdapter(), { logger: logCapture.logger, abortOnError: false });
  } catch (error) {
    return error as Error;
  }
  await app.close();
  throw new Error('the app started although its configuration is bad');
}
