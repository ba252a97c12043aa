import { jest } from '@jest/globals';

// An app without Passport: passport, @nestjs/passport and passport-jwt cannot be loaded (as when they
// are not installed). The package still loads, boots and guards routes; no strategy is registered.
const notInstalled = (name: string) => () => {
  throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' });
};
for (const name of ['passport', '@nestjs/passport', 'passport-jwt'])
  jest.unstable_mockModule(name, notInstalled(name));

const { Controller, Get, Module, UseGuards } = await import('@nestjs/common');
const { ApproovGuard, ApproovModule, ApproovStrategy } = await import('nestjs-approov');
const { createApproovSecret, createApproovToken } = await import('nestjs-approov/testing');
const { ADAPTERS, startApp } = await import('../support/nest-app.js');
const { expectReject } = await import('../support/http-client.js');
type RunningApp = Awaited<ReturnType<typeof startApp>>;

const SECRET = createApproovSecret();

@Controller()
class NoPassportController {
  @Get('guarded')
  @UseGuards(ApproovGuard)
  guarded() {
    return { ok: true };
  }
}

@Module({
  imports: [ApproovModule.forRoot({ secret: SECRET })],
  controllers: [NoPassportController],
})
class NoPassportModule {}

describe.each(ADAPTERS)(
  'ApproovModule with no Passport installed, on %s',
  (_name, createAdapter) => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await startApp(NoPassportModule, createAdapter);
    });
    afterAll(() => app?.close());

    it('cannot load passport here (the check is not vacuous)', async () => {
      await expect(import('passport')).rejects.toThrow("Cannot find module 'passport'");
    });

    it('boots and guards routes with the plain guard', async () => {
      expect(
        (await app.get('/guarded', { 'Approov-Token': createApproovToken({ secret: SECRET }) }))
          .status,
      ).toBe(200);
      expectReject(await app.get('/guarded'));
    });

    it('still provides ApproovStrategy, registered with no passport', () => {
      expect(app.app.get(ApproovStrategy).name).toBe('approov');
    });
  },
);
