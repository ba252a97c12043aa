// One benchmark server: `node bench/dist/server.js <express|fastify> <kind>`. Listens on
// 127.0.0.1, on a free port, and prints {"port": N} on stdout once ready. Every kind serves the
// same route, GET /bench, answering a small JSON body; only the protection in front differs.
import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type MiddlewareConsumer,
  type NestModule,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import {
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  sign as signBytes,
  timingSafeEqual,
  verify as verifySignature,
} from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import passportJwt from 'passport-jwt';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ApproovBinding, ApproovGuard, ApproovMessageSigning, ApproovModule } from 'nestjs-approov';
import { QuickstartApproovMiddleware } from './quickstart-peer.js';

export const SERVER_KINDS = [
  'none',
  'noop',
  'approov',
  'bound',
  'passport',
  'signed',
  'quickstart',
  'hmac-floor',
  'ecdsa-floor',
  'passport-floor',
] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

const BODY = { message: 'Hello, World!' };

@Injectable()
class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

// Floors: guards doing only the unavoidable work of a check, in the same server, so the cost of
// that work is measured with the caches and the HTTP stack as a real request sees them.

type BenchRequest = {
  raw?: { headers: IncomingHttpHeaders };
  headers: IncomingHttpHeaders;
  approov?: unknown;
};

/** A 401 built without a stack trace, as the module builds its own: the floor must not pay for a stack the module never captures. */
function stacklessUnauthorized(): UnauthorizedException {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new UnauthorizedException();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The least an HS256 check can do: one HMAC-SHA256, a constant-time compare, JSON.parse of the payload; a stackless 401 otherwise. */
@Injectable()
class HmacFloorGuard implements CanActivate {
  private readonly key = createSecretKey(
    Buffer.from(process.env.APPROOV_BASE64_SECRET ?? '', 'base64'),
  );

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<BenchRequest>();
    const token = (request.raw ?? request).headers['approov-token'];
    if (typeof token !== 'string') throw stacklessUnauthorized();
    const lastDot = token.lastIndexOf('.');
    const mac = createHmac('sha256', this.key).update(token.slice(0, lastDot)).digest();
    const given = Buffer.from(token.slice(lastDot + 1), 'base64url');
    if (given.length !== mac.length || !timingSafeEqual(mac, given)) throw stacklessUnauthorized();
    request.approov = JSON.parse(
      Buffer.from(token.slice(token.indexOf('.') + 1, lastDot), 'base64url').toString('utf8'),
    );
    return true;
  }
}

/** One ECDSA P-256 verify per request (crypto.verify over a signature-base-sized input), nothing else. */
@Injectable()
class EcdsaFloorGuard implements CanActivate {
  private readonly publicKey;
  private readonly base = `"@method": GET\n"@target-uri": http://127.0.0.1:8080/bench?n=1\n"approov-token": ${'x'.repeat(420)}\n"@signature-params": ("@method" "@target-uri" "approov-token");created=1700000000;alg="ecdsa-p256-sha256"`;
  private readonly signature: Buffer;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.publicKey = publicKey;
    this.signature = signBytes('sha256', Buffer.from(this.base, 'latin1'), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
  }

  canActivate(): boolean {
    const data = Buffer.from(this.base, 'latin1');
    if (
      !verifySignature(
        'sha256',
        data,
        { key: this.publicKey, dsaEncoding: 'ieee-p1363' },
        this.signature,
      )
    )
      throw new UnauthorizedException();
    return true;
  }
}

const FLOOR_USER = Object.freeze({});

/** A Passport strategy that accepts at once (passport-jwt's, its JWT work skipped): what AuthGuard and Passport cost by themselves. */
@Injectable()
class FloorStrategy extends PassportStrategy(passportJwt.Strategy, 'floor') {
  constructor() {
    super({
      jwtFromRequest: passportJwt.ExtractJwt.fromHeader('approov-token'),
      secretOrKey: 'unused',
    });
  }

  validate(): object {
    return FLOOR_USER;
  }

  override authenticate(): void {
    (this as unknown as { success(user: object): void }).success(FLOOR_USER);
  }
}

@Controller()
@UseGuards(HmacFloorGuard)
class HmacFloorController {
  @Get('bench')
  bench() {
    return BODY;
  }
}

@Controller()
@UseGuards(EcdsaFloorGuard)
class EcdsaFloorController {
  @Get('bench')
  bench() {
    return BODY;
  }
}

@Controller()
@UseGuards(AuthGuard('floor'))
class PassportFloorController {
  @Get('bench')
  bench() {
    return BODY;
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
  @ApproovMessageSigning({ requireInstallationKey: true })
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
  'hmac-floor': HmacFloorController,
  'ecdsa-floor': EcdsaFloorController,
  'passport-floor': PassportFloorController,
};

function benchModule(kind: ServerKind): DynamicModule {
  const approov = ApproovModule.forRoot({
    secret: process.env.APPROOV_BASE64_SECRET,
    ...(process.env.BENCH_CACHE_SIZE !== undefined
      ? { cacheSize: Number(process.env.BENCH_CACHE_SIZE) }
      : {}),
    ...(process.env.BENCH_REJECT_LOG === 'every' ? { rejectLog: { lines: 'every' as const } } : {}),
    ...(process.env.BENCH_REPLAY === 'off' ? { messageSigning: { allowReplays: true } } : {}),
  });
  if (kind === 'quickstart') return { module: BenchModule, imports: [QuickstartModule] };
  const providers = kind === 'passport-floor' ? [NoopGuard, FloorStrategy] : [NoopGuard];
  return { module: BenchModule, imports: [approov], controllers: [CONTROLLERS[kind]], providers };
}

@Module({})
class BenchModule {}

async function main(): Promise<void> {
  const [platform, kind] = process.argv.slice(2);
  if (
    (platform !== 'express' && platform !== 'fastify') ||
    !SERVER_KINDS.includes(kind as ServerKind)
  ) {
    throw new Error(`usage: server.js <express|fastify> <${SERVER_KINDS.join('|')}>`);
  }
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  // BENCH_LOGGER=1: Nest's default logger on, as apps run in production (reject lines on stdout).
  const logger = process.env.BENCH_LOGGER === '1' ? undefined : false;
  const app = await NestFactory.create(
    benchModule(kind as ServerKind),
    adapter,
    logger === false ? { logger } : {},
  );
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
