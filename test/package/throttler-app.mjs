// A Nest app with @nestjs/throttler and ApproovThrottlerGuard, run by throttler.e2e.spec.ts in a
// child process: @nestjs/throttler is CommonJS and requires @nestjs/common, which is ESM only from
// Nest 12; Node loads that (require of ESM), Jest's ESM mode does not. Plain ESM, so decorators are
// applied as calls. It imports the BUILT package by its name, as an app does.
// Usage: node throttler-app.mjs express|fastify, with APPROOV_BASE64_SECRET set; prints {"port":N}.
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerModule } from '@nestjs/throttler';
import { ApproovGuard, ApproovModule } from 'nestjs-approov';
import { ApproovThrottlerGuard } from 'nestjs-approov/throttler';

class ThrottledController {
  approovFirst() {
    return { ok: true };
  }
  throttlerFirst() {
    return { ok: true };
  }
  open() {
    return { ok: true };
  }
}
const route = (method, decorators) =>
  Reflect.decorate(
    decorators,
    ThrottledController.prototype,
    method,
    Object.getOwnPropertyDescriptor(ThrottledController.prototype, method),
  );
// The two guard orders, and a route with no Approov guard at all.
route('approovFirst', [Get('approov-first'), UseGuards(ApproovGuard, ApproovThrottlerGuard)]);
route('throttlerFirst', [Get('throttler-first'), UseGuards(ApproovThrottlerGuard, ApproovGuard)]);
route('open', [Get('open'), UseGuards(ApproovThrottlerGuard)]);
Controller()(ThrottledController);

class AppModule {}
Module({
  imports: [
    ThrottlerModule.forRoot([{ ttl: 60_000, limit: 2 }]),
    ApproovModule.forRoot({ secret: process.env.APPROOV_BASE64_SECRET }),
  ],
  controllers: [ThrottledController],
})(AppModule);

const adapter = process.argv[2] === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(AppModule, adapter, { logger: ['error', 'warn'] });
await app.listen(0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ port: app.getHttpServer().address().port })}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
