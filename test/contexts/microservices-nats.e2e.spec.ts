import type { INestMicroservice } from '@nestjs/common';
import {
  ClientProxyFactory,
  NatsRecordBuilder,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { firstValueFrom } from 'rxjs';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import type { ApproovFailure } from 'nestjs-approov';
import {
  NatsApproovGuard,
  NatsShapesController,
  microserviceModule,
  natsTransport,
  startMicroservice,
} from './apps/microservice-app.js';

// A transport other than gRPC through the documented hook: a guard subclass reads the token from
// the NATS message headers (the NATS server at 127.0.0.1:4222), never from the payload.

const secret = createApproovSecret();
const token = (expiresIn = 300) =>
  createApproovToken({ secret, claims: { did: 'device-1' }, expiresIn });

describe('NATS through a guard subclass that reads the message headers', () => {
  let server: INestMicroservice;
  let client: ClientProxy;
  const failures: ApproovFailure[] = [];
  beforeAll(async () => {
    server = await startMicroservice(
      microserviceModule([NatsShapesController], { secret }, failures, [NatsApproovGuard]),
      natsTransport(),
    );
    client = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: { servers: ['nats://127.0.0.1:4222'] },
    });
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  const send = (headerValue: string | undefined, data: object = {}) => {
    const headers = natsHeaders();
    if (headerValue !== undefined) headers.set('approov-token', headerValue);
    const record = new NatsRecordBuilder(data).setHeaders(headers).build();
    return firstValueFrom(client.send('shapes.device', record)).then(
      (reply) => ({ reply }),
      (error: unknown) => ({ error }),
    );
  };

  it('serves a message whose headers carry a valid token', async () => {
    expect(await send(token())).toEqual({ reply: { did: 'device-1' } });
  });

  it('refuses a message without one, and never reads the payload', async () => {
    const answer = await send(undefined, {
      approov: { did: 'spoofed' },
      headers: { 'approov-token': token() },
    });
    expect(answer).toEqual({ error: expect.objectContaining({ message: 'Unauthorized' }) });
    expect(failures.map((f) => [f.code, f.context])).toEqual([['token_missing', 'rpc']]);
  });
});
