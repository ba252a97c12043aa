import type { INestApplication } from '@nestjs/common';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { createApp } from '../src/create-app';

// Only in apps that install Passport: AuthGuard('approov') with no strategy of the app's own.
describe("nestjs-approov through Passport's AuthGuard('approov')", () => {
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

  const get = async (token: string) => {
    const response = await fetch(`${base}/passport`, { headers: { 'approov-token': token } });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('serves a valid token and rejects an expired one with the guard 401 body', async () => {
    const valid = createApproovToken({ secret, expiresIn: 60 });
    const expired = createApproovToken({ secret, expiresIn: -60 });
    expect((await get(valid)).status).toBe(200);
    expect(await get(expired)).toEqual({
      status: 401,
      body: { statusCode: 401, message: 'Unauthorized' },
    });
  });
});
