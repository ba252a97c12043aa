import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  status,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { firstValueFrom } from 'rxjs';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import type { ApproovFailure } from 'nestjs-approov';
import { bootError, startApp, type RunningApp } from '../support/nest-app.js';
import {
  GrpcShapesController,
  HttpShapesController,
  PROTO_PATH,
  TcpGuardedController,
  TcpShapesController,
  TcpUnprotectedController,
  freePort,
  grpcTransport,
  microserviceModule,
  startMicroservice,
  tcpTransport,
} from './apps/microservice-app.js';

// Microservice handlers: gRPC reads the token from the call metadata; other transports have no
// place Approov's SDKs put a token, so the plain guard refuses to serve them (at boot) unless the
// app supplies the token through a guard subclass; the payload is never read.

const secret = createApproovSecret();
const token = (expiresIn = 300) =>
  createApproovToken({ secret, claims: { did: 'device-1' }, expiresIn });

interface ShapesClient {
  Device(
    request: object,
    metadata: Metadata,
    callback: (error: ServiceError | null, reply?: { did: string }) => void,
  ): void;
  close(): void;
}

describe('gRPC', () => {
  let server: INestMicroservice;
  let client: ShapesClient;
  const failures: ApproovFailure[] = [];
  beforeAll(async () => {
    const port = await freePort();
    server = await startMicroservice(
      microserviceModule([GrpcShapesController], { secret }, failures),
      grpcTransport(port),
    );
    const definition = loadPackageDefinition(loadSync(PROTO_PATH)) as unknown as {
      shapes: { Shapes: new (address: string, creds: unknown) => ShapesClient };
    };
    client = new definition.shapes.Shapes(`127.0.0.1:${port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });
  beforeEach(() => {
    failures.length = 0;
  });

  const call = (entries: Array<[string, string]>, request: object = {}) => {
    const metadata = new Metadata();
    for (const [key, value] of entries) metadata.add(key, value);
    return new Promise<{ error: ServiceError | null; reply?: { did: string } }>((resolve) =>
      client.Device(request, metadata, (error, reply) => resolve({ error, reply })),
    );
  };

  it('serves a call whose metadata carries a valid token, with its claims', async () => {
    const { error, reply } = await call([['approov-token', token()]]);
    expect(error).toBeNull();
    expect(reply).toEqual({ did: 'device-1' });
  });

  it.each([
    ['missing', [], 'token_missing'],
    [
      'forged',
      [['approov-token', createApproovToken({ secret: createApproovSecret() })]],
      'token_signature_invalid',
    ],
    ['expired', [['approov-token', token(-60)]], 'token_expired'],
    // HTTP/2 joins a repeated header's values with ", ", which no token can contain.
    [
      'repeated',
      [
        ['approov-token', token()],
        ['approov-token', token()],
      ],
      'token_malformed',
    ],
  ] as Array<[string, Array<[string, string]>, string]>)(
    'answers a %s token with UNAUTHENTICATED and reports why',
    async (_n, entries, code) => {
      const { error } = await call(entries);
      expect(error?.code).toBe(status.UNAUTHENTICATED);
      expect(error?.details).toBe('Unauthorized');
      expect(failures.map((f) => [f.code, f.context])).toEqual([[code, 'rpc']]);
    },
  );

  it('never reads a token from the request message', async () => {
    const { error } = await call([], { approov: token() });
    expect(error?.code).toBe(status.UNAUTHENTICATED);
  });
});

describe('TCP', () => {
  let server: INestMicroservice;
  let client: ClientProxy;
  const failures: ApproovFailure[] = [];
  beforeAll(async () => {
    const port = await freePort();
    server = await startMicroservice(
      microserviceModule([TcpShapesController], { secret }, failures),
      tcpTransport(port),
    );
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('never yields claims from a payload carrying approov or headers fields', async () => {
    const spoof = {
      approov: { did: 'spoofed' },
      headers: { 'approov-token': token() },
      'approov-token': token(),
    };
    expect(await firstValueFrom(client.send('device', spoof))).toEqual({ did: null });
    expect(failures).toEqual([]);
  });

  it('refuses to boot with the plain ApproovGuard on a TCP handler, naming it', async () => {
    const error = await bootError(
      microserviceModule([TcpGuardedController], { secret }, []),
      () => new ExpressAdapter(),
    );
    expect(error.message).toContain('TcpGuardedController.device');
    expect(error.message).toContain('getRequest');
  });
});

describe.each([
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const)('a hybrid HTTP + TCP app on %s', (_platform, createAdapter) => {
  it('refuses to boot under protectAllRoutes while a TCP handler is neither protected nor skipped', async () => {
    const controllers = [HttpShapesController, TcpUnprotectedController];
    const module = microserviceModule(controllers, { secret, protectAllRoutes: true }, []);
    const error = await bootError(module, createAdapter);
    expect(error.message).toContain('TcpUnprotectedController.device');
    expect(error.message).toContain('@SkipApproov()');
  });

  describe.each([true, false])('with inheritAppConfig: %s', (inheritAppConfig) => {
    let app: RunningApp;
    let client: ClientProxy;
    const failures: ApproovFailure[] = [];
    beforeAll(async () => {
      const port = await freePort();
      app = await startApp(
        microserviceModule(
          [HttpShapesController, TcpShapesController],
          { secret, protectAllRoutes: true },
          failures,
        ),
        createAdapter,
        {
          configure: (nest: INestApplication) => {
            nest.connectMicroservice(tcpTransport(port), { inheritAppConfig });
          },
          startMicroservices: true,
        },
      );
      client = ClientProxyFactory.create({
        transport: Transport.TCP,
        options: { host: '127.0.0.1', port },
      });
    });
    afterAll(async () => {
      await client.close();
      await app.close();
    });

    it('protects the HTTP side and serves the skipped TCP handler without claims', async () => {
      expect((await app.get('/device')).status).toBe(401);
      expect((await app.get('/device', { 'Approov-Token': token() })).body).toBe(
        '{"did":"device-1"}',
      );
      const spoof = { approov: { did: 'spoofed' } };
      expect(await firstValueFrom(client.send('device', spoof))).toEqual({ did: null });
    });
  });
});
