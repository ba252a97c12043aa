// The e2e example of docs/testing.md, kept runnable, on the README quickstart's controller:
// test/docs/testing-example.spec.ts checks that both are copied here exactly.
import { Controller, Get, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ApproovBinding, ApproovClaims, ApproovGuard, ApproovModule } from 'nestjs-approov';
import type { ApproovTokenClaims } from 'nestjs-approov';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';

@Controller()
export class ShapesController {
  @Get('hello')
  hello() {
    return { message: 'Hello, World!' }; // not protected
  }

  @Get('shapes')
  @UseGuards(ApproovGuard) // a valid Approov token is required
  shapes(@ApproovClaims() claims: ApproovTokenClaims) {
    return { shape: 'circle', device: claims.did };
  }

  @Get('orders')
  @ApproovBinding('Authorization') // the token, bound to this request's Authorization header
  orders() {
    return [];
  }
}

// docs/testing.md example starts here
describe('an API protected by Approov', () => {
  const secret = createApproovSecret(); // a throwaway secret: the tests mint their own tokens
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ApproovModule.forRoot({ secret })],
      controllers: [ShapesController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterAll(() => app.close());

  const get = (path: string, headers = {}) => fetch(url + path, { headers });

  it('serves a request with a valid token, with its claims', async () => {
    const token = createApproovToken({ secret, claims: { did: 'device-1' } });
    const response = await get('/shapes', { 'Approov-Token': token });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ shape: 'circle', device: 'device-1' });
  });

  it('rejects an expired token, or one signed with another secret', async () => {
    const expired = createApproovToken({ secret, expiresIn: -60 });
    const forged = createApproovToken({ secret: createApproovSecret() });
    expect((await get('/shapes', { 'Approov-Token': expired })).status).toBe(401);
    expect((await get('/shapes', { 'Approov-Token': forged })).status).toBe(401);
  });

  it('serves /orders only with a token bound to the Authorization header', async () => {
    const auth = 'Bearer user-session-token';
    const token = createApproovToken({ secret, bind: auth });
    const bound = await get('/orders', { 'Approov-Token': token, Authorization: auth });
    expect(bound.status).toBe(200);
    const other = await get('/orders', { 'Approov-Token': token, Authorization: 'Bearer other' });
    expect(other.status).toBe(401);
  });
});
