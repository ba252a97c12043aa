import type { INestApplication } from '@nestjs/common';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { createApp } from '../src/create-app';

// Apollo on Nest 11: a resolver behind the plain ApproovGuard.
describe('nestjs-approov on a GraphQL resolver (Apollo)', () => {
  const secret = createApproovSecret();
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    process.env.APPROOV_BASE64_SECRET = secret;
    app = await createApp();
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
  });

  const query = async (text: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: text }),
    });
    return (await response.json()) as {
      data?: Record<string, unknown> | null;
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    };
  };

  it('answers a guarded query with a valid token', async () => {
    const token = createApproovToken({ secret, claims: { did: 'device-3' } });
    expect(await query('{ device }', { 'approov-token': token })).toEqual({
      data: { device: 'device-3' },
    });
  });

  it('refuses a guarded query without a token, or with a forged one, as UNAUTHENTICATED', async () => {
    const forged = createApproovToken({ secret: createApproovSecret() });
    for (const headers of [{}, { 'approov-token': forged }]) {
      const result = await query('{ device }', headers);
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.map((error) => [error.message, error.extensions?.code])).toEqual([
        ['Unauthorized', 'UNAUTHENTICATED'],
      ]);
    }
  });

  it('serves an unguarded query without a token', async () => {
    expect(await query('{ open }')).toEqual({ data: { open: 'open' } });
  });
});
