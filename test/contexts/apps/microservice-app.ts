import { Controller, Get, Injectable, UseGuards, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ctx,
  GrpcMethod,
  MessagePattern,
  NatsContext,
  Payload,
  Transport,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import type { ExecutionContext, INestMicroservice } from '@nestjs/common';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  ApproovClaims,
  ApproovGuard,
  SkipApproov,
  type ApproovFailure,
  type ApproovModuleOptions,
  type ApproovRequestLike,
} from 'nestjs-approov';
import { contextAppModule } from './context-app-module.js';
import { logCapture } from '../../support/log-capture.js';

// Microservice handlers: gRPC (the token in the call metadata), TCP (no headers at all), and NATS
// (headers, read by a guard subclass: the documented hook for transports other than gRPC).

export const PROTO_PATH = fileURLToPath(new URL('../fixtures/shapes.proto', import.meta.url));

@Controller()
export class GrpcShapesController {
  @GrpcMethod('Shapes', 'Device')
  @UseGuards(ApproovGuard)
  device(_request: unknown, @ApproovClaims('did') did: string | undefined) {
    return { did: did ?? '' };
  }
}

/** TCP handlers: one unprotected (it must never see claims), one skipped. */
@Controller()
export class TcpShapesController {
  @MessagePattern('device')
  @SkipApproov()
  device(@ApproovClaims('did') did: string | undefined) {
    return { did: did ?? null };
  }
}

/** Neither guarded nor skipped: what protectAllRoutes must not leave silently unprotected. */
@Controller()
export class TcpUnprotectedController {
  @MessagePattern('device')
  device(@ApproovClaims('did') did: string | undefined) {
    return { did: did ?? null };
  }
}

@Controller()
export class TcpGuardedController {
  @MessagePattern('device')
  @UseGuards(ApproovGuard)
  device(@ApproovClaims('did') did: string | undefined) {
    return { did: did ?? null };
  }
}

/** The hook for a transport with headers: the token from the NATS message headers. */
@Injectable()
export class NatsApproovGuard extends ApproovGuard {
  protected override getRequest(context: ExecutionContext): ApproovRequestLike {
    const headers = context.switchToRpc().getContext<NatsContext>().getHeaders();
    const token = headers?.get('approov-token');
    return { headers: token ? { 'approov-token': token } : {} };
  }
}

@Controller()
export class NatsShapesController {
  @MessagePattern('shapes.device')
  @UseGuards(NatsApproovGuard)
  device(
    @Payload() _data: unknown,
    @Ctx() _context: NatsContext,
    @ApproovClaims('did') did?: string,
  ) {
    return { did: did ?? null };
  }
}

/** A hybrid app's HTTP side. */
@Controller()
export class HttpShapesController {
  @Get('device')
  device(@ApproovClaims('did') did: string | undefined) {
    return { did: did ?? null };
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function microserviceModule(
  controllers: Array<new (...args: never[]) => object>,
  options: ApproovModuleOptions & { protectAllRoutes?: boolean },
  failures: ApproovFailure[],
  providers: Array<new (...args: never[]) => object> = [],
): DynamicModule {
  return contextAppModule(options, failures, { controllers, providers });
}

export async function startMicroservice(
  module: DynamicModule,
  transport: MicroserviceOptions,
): Promise<INestMicroservice> {
  logCapture.start();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(module, {
    ...transport,
    logger: logCapture.logger,
    abortOnError: false,
  });
  await app.listen();
  return app;
}

export const grpcTransport = (port: number): MicroserviceOptions => ({
  transport: Transport.GRPC,
  options: { package: 'shapes', protoPath: PROTO_PATH, url: `127.0.0.1:${port}` },
});
export const tcpTransport = (port: number): MicroserviceOptions => ({
  transport: Transport.TCP,
  options: { host: '127.0.0.1', port },
});
export const natsTransport = (): MicroserviceOptions => ({
  transport: Transport.NATS,
  options: { servers: ['nats://127.0.0.1:4222'] },
});
