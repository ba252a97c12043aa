// One benchmark server: `node bench/dist/server.js <express|fastify> <kind>`. Listens on
// 127.0.0.1, on a free port, and prints {"port": N} on stdout once ready. Every kind serves the
// same route, GET /bench, answering a small JSON body; only the protection in front differs.
import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ApproovBinding, ApproovGuard, ApproovMessageSigning, ApproovModule } from 'nestjs-approov';
import { QuickstartApproovMiddleware } from './quickstart-peer.js';

export const SERVER_KINDS = ['none', 'noop', 'approov', 'bound', 'passport', 'signed', 'quickstart'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

const BODY = { message: 'Hello, World!' };

@Injectable()
class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Controller()
class OpenController {
  @Get('bench')
  bench() {
    return BODY;
  }
}

@Controller()
@UseGuards(NoopGuard)
class NoopController {
  @Get('bench')
  bench() {
    return BODY;
  }
}

@Controller()
@UseGuards(ApproovGuard)
class ApproovController {
  @Get('bench')
  bench() {
    return BODY;
  }
}

@Controller()
class BoundController {
  @Get('bench')
  @ApproovBinding()
  bench() {
    return BODY;
  }
}

@Controller()
@UseGuards(ApproovGuard)
class SignedController {
  @Get('bench')
  @ApproovMessageSigning({ required: true })
  bench() {
    return BODY;
  }
}

@Controller()
@UseGuards(AuthGuard('approov'))
class PassportController {
  @Get('bench')
  bench() {
    return BODY;
  }
}

@Module({ controllers: [OpenController], providers: [QuickstartApproovMiddleware] })
class QuickstartModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(QuickstartApproovMiddleware).forRoutes(OpenController);
  }
}

const CONTROLLERS: Record<Exclude<ServerKind, 'quickstart'>, Type> = {
  none: OpenController,
  noop: NoopController,
  approov: ApproovController,
  bound: BoundController,
  passport: PassportController,
  signed: SignedController,
};

function benchModule(kind: ServerKind): DynamicModule {
  const approov = ApproovModule.forRoot({
    secret: process.env.APPROOV_BASE64_SECRET,
    ...(process.env.BENCH_CACHE_SIZE !== undefined ? { cacheSize: Number(process.env.BENCH_CACHE_SIZE) } : {}),
    ...(process.env.BENCH_REJECT_LOG === 'every' ? { rejectLog: { mode: 'every' as const } } : {}),
  });
  if (kind === 'quickstart') return { module: BenchModule, imports: [QuickstartModule] };
  return { module: BenchModule, imports: [approov], controllers: [CONTROLLERS[kind]], providers: [NoopGuard] };
}

@Module({})
class BenchModule {}

async function main(): Promise<void> {
  const [platform, kind] = process.argv.slice(2);
  if ((platform !== 'express' && platform !== 'fastify') || !SERVER_KINDS.includes(kind as ServerKind)) {
    throw new Error(`usage: server.js <express|fastify> <${SERVER_KINDS.join('|')}>`);
  }
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  // BENCH_LOGGER=1: Nest's default logger on, as apps run in production (reject lines on stdout).
  const logger = process.env.BENCH_LOGGER === '1' ? undefined : false;
  const app = await NestFactory.create(benchModule(kind as ServerKind), adapter, logger === false ? { logger } : {});
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  const profile = process.env.BENCH_PROFILE_FILE;
  let session: Session | undefined;
  if (profile !== undefined) {
    // SIGUSR2 starts the CPU profiler once the load is on, so start-up does not dilute the profile.
    process.once('SIGUSR2', () => {
      session = new Session();
      session.connect();
      void session
        .post('Profiler.enable')
        .then(() => session!.post('Profiler.setSamplingInterval', { interval: 200 }))
        .then(() => session!.post('Profiler.start'));
    });
  }
  const stop = async (): Promise<void> => {
    if (session !== undefined && profile !== undefined) {
      const { profile: data } = await session.post('Profiler.stop');
      writeFileSync(profile, JSON.stringify(data));
    }
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
