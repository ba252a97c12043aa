import type { INestApplication } from '@nestjs/common';
import {
  approovBindingHash,
  createApproovSecret,
  createApproovToken,
} from 'nestjs-approov/testing';
import { createApp } from '../src/create-app';

// The README's e2e pattern: a real server on loopback, tokens minted with nestjs-approov/testing.
describe('nestjs-approov in this app', () => {
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

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, { headers });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('serves an unprotected route without a token', async () => {
    expect(await get('/public')).toEqual({ status: 200, body: { ok: true } });
  });

  it('injects ApproovService into a controller by its type', async () => {
    expect(await get('/ready')).toEqual({ status: 200, body: { replayStore: true } });
  });

  it('serves a protected route with a valid token, with its claims', async () => {
    const token = createApproovToken({ secret, claims: { did: 'device-1' } });
    expect(await get('/hello', { 'approov-token': token })).toEqual({
      status: 200,
      body: { hello: 'device-1' },
    });
  });

  it('rejects a token signed with another secret, and a missing token, with the same 401', async () => {
    const unauthorized = { status: 401, body: { statusCode: 401, message: 'Unauthorized' } };
    const forged = createApproovToken({ secret: createApproovSecret() });
    expect(await get('/hello', { 'approov-token': forged })).toEqual(unauthorized);
    expect(await get('/hello')).toEqual(unauthorized);
  });

  it('checks token binding to the Authorization header', async () => {
    const token = createApproovToken({ secret, bind: 'Bearer user-1' });
    expect(approovBindingHash('Bearer user-1')).toHaveLength(44);
    expect(
      (await get('/bound', { 'approov-token': token, authorization: 'Bearer user-1' })).status,
    ).toBe(200);
    expect(
      (await get('/bound', { 'approov-token': token, authorization: 'Bearer user-2' })).status,
    ).toBe(401);
  });
});
