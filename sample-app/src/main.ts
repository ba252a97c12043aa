import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { ApproovConfigurationError } from 'nestjs-approov';
import { AppModule } from './app.module.js';

/** A setting the app cannot start with; reported as one line that names it. */
class StartupError extends Error {}

const PLATFORMS = ['express', 'fastify'] as const;
type Platform = (typeof PLATFORMS)[number];

function readPlatform(value = 'express'): Platform {
  if (!(PLATFORMS as readonly string[]).includes(value)) {
    throw new StartupError(`PLATFORM must be "express" or "fastify".`);
  }
  return value as Platform;
}

function readPort(value = '8080'): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new StartupError('PORT must be a port number from 0 to 65535.');
  return port;
}

async function bootstrap(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const platform = readPlatform(env.PLATFORM);
  const port = readPort(env.PORT);
  const host = env.HOST ?? '127.0.0.1';
  const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();

  const app = await NestFactory.create(AppModule.forPlatform(platform), adapter, {
    abortOnError: false, // throw on a bad configuration instead of process.abort()
    bufferLogs: true, // a failed boot prints our one line, not Nest's stack trace
    autoFlushLogs: false,
  });
  app.flushLogs();
  app.useWebSocketAdapter(new WsAdapter(app)); // the gateway at /ws, on the same port
  app.enableShutdownHooks();
  await app.listen(port, host);
  Logger.log(`Listening on ${await app.getUrl()} (${platform})`, 'SampleApp');
  return app;
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ApproovConfigurationError || error instanceof StartupError) {
    console.error(`sample-app: cannot start: ${error.message}`);
  } else {
    console.error('sample-app: cannot start:', error);
  }
  process.exit(1);
});
