import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  type DynamicModule,
  type INestApplication,
  type LoggerService,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ApproovMessageSigning, ApproovModule, type ApproovFailureCode, type ApproovModuleOptions } from 'nestjs-approov';

export const HELLO = { message: 'Hello, World!' };

/** The routes under test: every flavour of @ApproovMessageSigning. */
@Controller()
export class SigningController {
  @Get('signed')
  @ApproovMessageSigning({ required: true })
  getSigned(): typeof HELLO {
    return HELLO;
  }

  @Post('signed')
  @HttpCode(200)
  @ApproovMessageSigning({ required: true })
  postSigned(@Body() _body: unknown): typeof HELLO {
    return HELLO;
  }

  @Get('optional')
  @ApproovMessageSigning()
  optional(): typeof HELLO {
    return HELLO;
  }

  @Get('proxied')
  @ApproovMessageSigning({ required: true, trustProxy: true })
  proxied(): typeof HELLO {
    return HELLO;
  }

  // The GET vector covers only @method and approov-token.
  @Get('vector-get')
  @ApproovMessageSigning({ required: true, requiredComponents: ['@method', 'approov-token'] })
  vectorGet(): typeof HELLO {
    return HELLO;
  }

  // The POST vector's target URI is http://0.0.0.0:8111/token?param1=value1&param2=value2.
  @Post('token')
  @HttpCode(200)
  @ApproovMessageSigning({ required: true })
  vectorPost(@Body() _body: unknown): typeof HELLO {
    return HELLO;
  }
}

/** Class-level options, overridden by one handler: the handler wins. */
@Controller('class')
@ApproovMessageSigning({ required: true })
export class ClassLevelController {
  @Get('required')
  required(): typeof HELLO {
    return HELLO;
  }

  @Get('optional')
  @ApproovMessageSigning({ required: false })
  optional(): typeof HELLO {
    return HELLO;
  }
}

/** Keeps warnings so tests can assert what was logged (and what was not). */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

export type AdapterName = 'express' | 'fastify';

export interface RunningApp {
  app: INestApplication;
  baseUrl: URL;
  failures: ApproovFailureCode[];
  logger: CapturingLogger;
}

/** Boots the signing controllers on an adapter, on 127.0.0.1 and a free port. */
export async function startSigningApp(
  adapter: AdapterName,
  options: ApproovModuleOptions,
  { rawBody = true }: { rawBody?: boolean } = {},
): Promise<RunningApp> {
  const failures: ApproovFailureCode[] = [];
  const logger = new CapturingLogger();
  const approov: DynamicModule = ApproovModule.forRoot({
    ...options,
    onFailure: (failure) => failures.push(failure.code),
  });
  @Module({ imports: [approov], controllers: [SigningController, ClassLevelController] })
  class TestModule {}

  const app = await NestFactory.create(TestModule, adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), {
    rawBody,
    logger,
    abortOnError: false,
  });
  // text/plain for the POST vector: Nest keeps the raw body for parsers it registers.
  (app as unknown as { useBodyParser(type: string): void }).useBodyParser(adapter === 'express' ? 'text' : 'text/plain');
  await app.listen(0, '127.0.0.1');
  return { app, baseUrl: new URL(await app.getUrl()), failures, logger };
}

export interface Reply {
  status: number;
  body: string;
}

/** One HTTP/1.1 request with exactly these headers (arrays become repeated lines); 5 s cap. */
export function send(
  baseUrl: URL,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing: OutgoingHttpHeaders = { ...headers };
    if (body !== undefined) outgoing['content-length'] = Buffer.byteLength(body);
    const req = httpRequest(
      { host: '127.0.0.1', port: baseUrl.port, method, path, headers: outgoing, timeout: 5000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
