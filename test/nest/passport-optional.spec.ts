import { jest } from '@jest/globals';
import passport from 'passport';
import type { ApproovService } from 'nestjs-approov';
import { ApproovStrategy, loadPassport } from '../../src/approov.strategy.js';

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

describe('ApproovStrategy on a check that waits (a keyset refetch)', () => {
  /** Passport's per-request copy: the strategy's prototype chain, with the actions set on it. */
  function passportCopy(check: () => unknown) {
    const service = { approovCheck: { check } } as unknown as ApproovService;
    const copy = Object.create(new ApproovStrategy(service)) as ApproovStrategy & {
      success: jest.Mock<(user: unknown) => void>;
      error: jest.Mock<(error: Error) => void>;
      pass: jest.Mock<() => void>;
    };
    copy.success = jest.fn();
    copy.error = jest.fn();
    copy.pass = jest.fn();
    return copy;
  }

  it('succeeds with the claims once the verdict settles', async () => {
    const claims = Object.freeze({ exp: 1, did: 'device-1' });
    const copy = passportCopy(() => Promise.resolve({ ok: true, claims }));
    const request = { headers: {} } as { headers: object; approov?: unknown };
    copy.authenticate(request as never);
    await new Promise(setImmediate);
    expect(copy.success).toHaveBeenCalledWith(claims);
    expect(request.approov).toBe(claims);
  });

  it('passes an error of the check on to Passport', async () => {
    const failure = new Error('store down');
    const copy = passportCopy(() => Promise.reject(failure));
    copy.authenticate({ headers: {} } as never);
    await new Promise(setImmediate);
    expect(copy.error).toHaveBeenCalledWith(failure);
    expect(copy.success).not.toHaveBeenCalled();
  });
});
