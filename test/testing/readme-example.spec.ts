// The README's "testing helpers" example, kept runnable: an e2e test of an app protected by the module.
import { Controller, Get, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ApproovBinding, ApproovGuard, ApproovModule } from 'nestjs-approov';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';

@Controller()
class ShapesController {
  @Get('shapes')
  @UseGuards(ApproovGuard)
  shapes() {
    return { shape: 'circle' };
  }

  @Get('orders')
  @ApproovBinding('Authorization')
  orders() {
    return [];
  }
}

// README example starts here
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

  const get = (path: string, headers: Record<string, string> = {}) => fetch(url + path, { headers });

  it('serves a request with a valid token', async () => {
    const response = await get('/shapes', { 'Approov-Token': createApproovToken({ secret }) });
    expect(response.status).toBe(200);
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
    expect((await get('/orders', { 'Approov-Token': token, Authorization: auth })).status).toBe(200);
    expect((await get('/orders', { 'Approov-Token': token, Authorization: 'Bearer other' })).status).toBe(401);
  });
});
