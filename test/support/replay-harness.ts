import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { Body, Controller, Get, HttpCode, Module, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  type ApproovFailure,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import {
  createApproovInstallationKey,
  createApproovSecret,
  createApproovToken,
  signApproovRequest,
  type SignApproovRequestOptions,
} from 'nestjs-approov/testing';
import { CapturingLogger, HELLO, send, type AdapterName, type Reply } from './message-signing-harness.js';

export { HELLO, send, type AdapterName, type Reply };

/** The routes the replay tests send to: protected by default, opted out, opted back in, token only. */
@Controller()
export class ReplayController {
  @Get('protected')
  @ApproovMessageSigning({ required: true })
  getProtected(): typeof HELLO {
    return HELLO;
  }

  @Post('protected')
  @HttpCode(200)
  @ApproovMessageSigning({ required: true })
  postProtected(@Body() _body: unknown): typeof HELLO {
    return HELLO;
  }

  @Get('replayable')
  @ApproovMessageSigning({ required: true, replay: false })
  replayable(): typeof HELLO {
    return HELLO;
  }

  @Get('reprotected')
  @ApproovMessageSigning({ required: true, replay: true })
  reprotected(): typeof HELLO {
    return HELLO;
  }

  @Get('optional')
  @ApproovMessageSigning()
  optional(): typeof HELLO {
    return HELLO;
  }

  @Get('token-only')
  @UseGuards(ApproovGuard)
  tokenOnly(): typeof HELLO {
    return HELLO;
  }
}

/** One Approov account and one installation: the secret, the device key and its `ipk`. */
export const replayAccount = {
  secret: createApproovSecret(),
  installation: createApproovInstallationKey(),
};

export interface ReplayApp {
  app: INestApplication;
  baseUrl: URL;
  /** Everything onFailure received. */
  reports: ApproovFailure[];
  logger: CapturingLogger;
}

/** Boots the replay routes on an adapter, on 127.0.0.1 and a free port. */
export async function startReplayApp(adapter: AdapterName, options: ApproovModuleOptions = {}): Promise<ReplayApp> {
  const reports: ApproovFailure[] = [];
  const logger = new CapturingLogger();
  @Module({
    imports: [
      ApproovModule.forRoot({ secret: replayAccount.secret, ...options, onFailure: (failure) => reports.push(failure) }),
    ],
    controllers: [ReplayController],
  })
  class ReplayTestModule {}
  const app = await NestFactory.create(ReplayTestModule, adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), {
    rawBody: true,
    logger,
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  return { app, baseUrl: new URL(await app.getUrl()), reports, logger };
}

export interface SignedRequest {
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  body?: string;
}

/**
 * A correctly signed request, as a captured one: the same headers and body can be sent to any
 * instance, any number of times. Its token is new (a `jti` of its own), so two calls never sign
 * the same content.
 */
export function signedRequest(
  method: string,
  path: string,
  { body, signing = {}, authority = 'api.example.com' }: { body?: string; signing?: Partial<SignApproovRequestOptions>; authority?: string } = {},
): SignedRequest {
  const token = createApproovToken({
    secret: replayAccount.secret,
    claims: { ipk: replayAccount.installation.ipk, jti: randomUUID() },
  });
  const contentHeaders: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
  const signature = signApproovRequest({
    privateKey: replayAccount.installation.privateKey,
    method,
    url: `http://${authority}${path}`,
    token,
    body,
    headers: contentHeaders,
    ...signing,
  });
  // One Host for every instance, as behind a load balancer: the signature covers @target-uri.
  return { method, path, body, headers: { host: authority, 'approov-token': token, ...contentHeaders, ...signature } };
}

/** Sends a (captured) signed request to one instance. */
export function sendTo(baseUrl: URL, request: SignedRequest, extraHeaders: OutgoingHttpHeaders = {}): Promise<Reply> {
  return send(baseUrl, request.method, request.path, { ...request.headers, ...extraHeaders }, request.body);
}

export const SERVED: Reply = { status: 200, body: JSON.stringify(HELLO) };
export const UNAUTHORIZED: Reply = { status: 401, body: '{"statusCode":401,"message":"Unauthorized"}' };
export const UNAVAILABLE: Reply = { status: 503, body: '{"statusCode":503,"message":"Service Unavailable"}' };
