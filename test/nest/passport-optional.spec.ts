import passport from 'passport';
import { loadPassport } from '../../src/approov.strategy.js';

// passport, @nestjs/passport and passport-jwt are optional peers: the strategy loads passport only
// when the app has it, and an app without it boots with nothing of Passport loaded.

const notFound = (code: string) => () =>
  Promise.reject(Object.assign(new Error(`Cannot find module 'passport'`), { code }));

describe('loadPassport', () => {
  it("finds the app's passport authenticator, the one @nestjs/passport's AuthGuard calls", async () => {
    expect(await loadPassport()).toBe(passport);
  });

  it('takes module.exports itself when the module has no default export', async () => {
    const authenticator = { use: () => undefined };
    expect(await loadPassport(() => Promise.resolve(authenticator))).toBe(authenticator);
  });

  it.each(['MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND'])(
    'gives undefined when passport is not installed (%s)',
    async (code) => {
      expect(await loadPassport(notFound(code))).toBeUndefined();
    },
  );

  it('gives undefined for a module that is no passport authenticator', async () => {
    expect(await loadPassport(() => Promise.resolve({ default: {} }))).toBeUndefined();
  });

  it('lets any other load error stop the boot', async () => {
    const broken = () =>
      Promise.reject(Object.assign(new Error('boom'), { code: 'ERR_REQUIRE_ESM' }));
    await expect(loadPassport(broken)).rejects.toThrow('boom');
  });
});
