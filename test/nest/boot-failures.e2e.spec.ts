import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import {
  ApproovBinding,
  ApproovConfigurationError,
  ApproovGuard,
  ApproovModule,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { createApproovToken } from 'nestjs-approov/testing';
import { UseGuards } from '@nestjs/common';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, bootError, startApp } from '../support/nest-app.js';

// Bad configuration stops the app at boot (never at the first request), with a message that
// names the option or environment variable, and never the secret.

const GOOD = randomBytes(64).toString('base64');
const SHORT = randomBytes(31).toString('base64');
const PEM = `-----BEGIN PUBLIC KEY-----\n${randomBytes(64).toString('base64')}\n-----END PUBLIC KEY-----`;
const JWK = JSON.stringify({ kty: 'oct', k: randomBytes(32).toString('base64url') });
const JUNK = `${GOOD.slice(0, 30)}*${GOOD.slice(31)}`;
const ALL_ZERO = Buffer.alloc(32).toString('base64');
const ONE_BYTE_REPEATED = Buffer.alloc(64, 0xa5).toString('base64url');
for (const secret of [GOOD, SHORT, JUNK, ONE_BYTE_REPEATED]) logCapture.addSecret(secret);
logCapture.addSensitive(PEM, JWK);

@Controller()
class PingController {
  @Get('token-check')
  @UseGuards(ApproovGuard)
  ping() {
    return { ok: true };
  }
}

const forRootApp = (options: ApproovModuleOptions): DynamicModule => {
  @Module({})
  class BootAppModule {}
  return {
    module: BootAppModule,
    imports: [ApproovModule.forRoot(options)],
    controllers: [PingController],
  };
};

const forRootAsyncApp = (secret: unknown, extra: Record<string, unknown> = {}): DynamicModule => {
  @Module({})
  class BootAsyncAppModule {}
  return {
    module: BootAsyncAppModule,
    imports: [
      ApproovModule.forRootAsync({
        imports: [
          ConfigModule.forRoot({
            ignoreEnvFile: true,
            ignoreEnvVars: true,
            load: [() => ({ approov: { secret, ...extra } })],
          }),
        ],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => config.getOrThrow<ApproovModuleOptions>('approov'),
        protectAllRoutes: true,
      }),
    ],
    controllers: [PingController],
  };
};

const SECRET_VARIABLES = ['APPROOV_BASE64_SECRET', 'APPROOV_BASE64URL_SECRET'] as const;
const savedEnv = Object.fromEntries(SECRET_VARIABLES.map((name) => [name, process.env[name]]));
const setEnv = (values: Partial<Record<(typeof SECRET_VARIABLES)[number], string>>) => {
  for (const name of SECRET_VARIABLES) {
    if (values[name] === undefined) delete process.env[name];
    else process.env[name] = values[name];
  }
};
beforeEach(() => setEnv({}));
afterAll(() => setEnv(savedEnv as Record<string, string>));

/** The app refuses to start with an ApproovConfigurationError naming `setting`, never the secret. */
async function expectRefusal(
  module: DynamicModule,
  createAdapter: (typeof ADAPTERS)[number][1],
  setting: string,
  secret?: string,
) {
  const error = await bootError(module, createAdapter);
  expect(error).toBeInstanceOf(ApproovConfigurationError);
  expect(error.message).toContain(setting);
  if (secret !== undefined && secret.length > 0) {
    expect(error.message).not.toContain(secret.trim());
    expect(error.message).not.toContain(secret.trim().slice(0, 12));
  }
  return error;
}

describe.each(ADAPTERS)('boot failures on %s', (_platform, createAdapter) => {
  describe('a bad secret option (forRoot)', () => {
    it.each([
      ['empty', ''],
      ['the base64 placeholder', 'approov_base64_secret_here'],
      ['the base64url placeholder', 'approov_base64url_secret_here'],
      ['not canonical base64 (a junk character)', JUNK],
      ['shorter than 32 bytes', SHORT],
      ['a PEM key', PEM],
      ['a JWK', JWK],
      ['32 zero bytes', ALL_ZERO],
      ['one byte repeated', ONE_BYTE_REPEATED],
    ])('refuses a secret that is %s', async (_name, secret) => {
      await expectRefusal(forRootApp({ secret }), createAdapter, 'secret option', secret);
    });

    it('refuses an all-zero account message-signing key, naming messageSigningKey', async () => {
      const error = await expectRefusal(
        forRootApp({ secret: GOOD, messageSigningKey: ALL_ZERO }),
        createAdapter,
        'messageSigningKey option',
        ALL_ZERO,
      );
      expect(error.message).toContain('one byte repeated');
    });

    it('refuses an account message-signing key equal to a token secret, naming both settings', async () => {
      const other = randomBytes(32).toString('base64');
      const error = await expectRefusal(
        forRootApp({ secret: [other, GOOD], messageSigningKey: GOOD }),
        createAdapter,
        'messageSigningKey option',
        GOOD,
      );
      expect(error.message).toContain('same key as the token secret (secret option)');
    });

    it('refuses the same key from the environment, naming the variables', async () => {
      setEnv({ APPROOV_BASE64_SECRET: GOOD });
      process.env.APPROOV_MESSAGE_SIGNING_KEY = Buffer.from(GOOD, 'base64').toString('base64url');
      try {
        const error = await expectRefusal(
          forRootApp({}),
          createAdapter,
          'APPROOV_MESSAGE_SIGNING_KEY',
          GOOD,
        );
        expect(error.message).toContain('(APPROOV_BASE64_SECRET)');
      } finally {
        delete process.env.APPROOV_MESSAGE_SIGNING_KEY;
      }
    });

    it('refuses a rotation list with one bad entry, naming its index', async () => {
      await expectRefusal(
        forRootApp({ secret: [GOOD, SHORT] }),
        createAdapter,
        'secret option[1]',
        SHORT,
      );
    });
  });

  describe('no secret at all', () => {
    it('refuses to start, naming the option and both environment variables', async () => {
      const error = await expectRefusal(forRootApp({}), createAdapter, 'APPROOV_BASE64_SECRET');
      expect(error.message).toContain('APPROOV_BASE64URL_SECRET');
      expect(error.message).toContain('"secret"');
    });
  });

  describe('a bad secret from the environment', () => {
    it.each([
      ['APPROOV_BASE64_SECRET', 'empty', ''],
      ['APPROOV_BASE64_SECRET', 'the placeholder', 'approov_base64_secret_here'],
      ['APPROOV_BASE64_SECRET', 'too short', SHORT],
      ['APPROOV_BASE64URL_SECRET', 'the placeholder', 'approov_base64url_secret_here'],
      ['APPROOV_BASE64URL_SECRET', 'not canonical', JUNK],
    ] as const)('names %s when it is %s', async (variable, _name, value) => {
      setEnv({ [variable]: value });
      await expectRefusal(forRootApp({}), createAdapter, variable, value);
    });
  });

  describe('bad options', () => {
    it.each<[string, ApproovModuleOptions]>([
      ['tokenHeader', { tokenHeader: 'Approov Token' }],
      ['bindingHeaders', { bindingHeaders: [] }],
      ['bindingHeaders', { bindingHeaders: ['Session Id'] }],
      ['mode', { mode: 'report' as 'monitor' }],
      ['clockToleranceSec', { clockToleranceSec: -1 }],
      ['clockToleranceSec', { clockToleranceSec: 3600 }],
      ['issuer', { issuer: '' }],
      ['audience', { audience: [] }],
      ['allowMissingBindingClaim', { allowMissingBindingClaim: 'yes' as unknown as boolean }],
      ['onFailure', { onFailure: 'metrics' as unknown as () => void }],
    ])('refuses a bad %s', async (option, options) => {
      await expectRefusal(
        forRootApp({ secret: GOOD, ...options }),
        createAdapter,
        `"${option}"`,
        GOOD,
      );
    });

    it('refuses an unknown option, suggesting the one it misspells', async () => {
      const options = { secret: GOOD, clockTolerance: 5 } as ApproovModuleOptions;
      const error = await expectRefusal(
        forRootApp(options),
        createAdapter,
        '"clockTolerance"',
        GOOD,
      );
      expect(error.message).toContain('did you mean "clockToleranceSec"?');
    });
  });

  describe('forRootAsync with ConfigService', () => {
    it('refuses a bad secret from the configuration', async () => {
      await expectRefusal(forRootAsyncApp(SHORT), createAdapter, 'secret option', SHORT);
    });

    it('refuses a bad option from the configuration', async () => {
      await expectRefusal(
        forRootAsyncApp(GOOD, { clockToleranceSec: '30' }),
        createAdapter,
        '"clockToleranceSec"',
        GOOD,
      );
    });

    it('refuses an option the configuration misspells, suggesting the real one', async () => {
      const error = await expectRefusal(
        forRootAsyncApp(GOOD, { mesageSigning: { allowReplays: true } }),
        createAdapter,
        '"mesageSigning"',
        GOOD,
      );
      expect(error.message).toContain('did you mean "messageSigning"?');
    });

    it('refuses protectAllRoutes returned by the factory, where Nest would never read it', async () => {
      const error = await expectRefusal(
        forRootAsyncApp(GOOD, { protectAllRoutes: true }),
        createAdapter,
        '"protectAllRoutes"',
        GOOD,
      );
      expect(error.message).toContain('give it next to useFactory');
    });

    it('falls back to the environment when the configuration gives no secret, and refuses when it is missing', async () => {
      await expectRefusal(forRootAsyncApp(undefined), createAdapter, 'APPROOV_BASE64_SECRET');
    });
  });

  describe('the environment fallback when it is good', () => {
    it('uses APPROOV_BASE64URL_SECRET when it is the only one set', async () => {
      const urlSecret = randomBytes(32).toString('base64url');
      logCapture.addSecret(urlSecret);
      setEnv({ APPROOV_BASE64URL_SECRET: urlSecret });
      const app = await startApp(forRootApp({}), createAdapter);
      try {
        expect(
          (
            await app.get('/token-check', {
              'Approov-Token': createApproovToken({ secret: urlSecret }),
            })
          ).status,
        ).toBe(200);
        expect(
          (await app.get('/token-check', { 'Approov-Token': createApproovToken({ secret: GOOD }) }))
            .status,
        ).toBe(401);
      } finally {
        await app.close();
      }
    });

    it('prefers APPROOV_BASE64_SECRET over APPROOV_BASE64URL_SECRET', async () => {
      const urlSecret = randomBytes(32).toString('base64url');
      logCapture.addSecret(urlSecret);
      setEnv({ APPROOV_BASE64_SECRET: GOOD, APPROOV_BASE64URL_SECRET: urlSecret });
      const app = await startApp(forRootApp({}), createAdapter);
      try {
        expect(
          (await app.get('/token-check', { 'Approov-Token': createApproovToken({ secret: GOOD }) }))
            .status,
        ).toBe(200);
        expect(
          (
            await app.get('/token-check', {
              'Approov-Token': createApproovToken({ secret: urlSecret }),
            })
          ).status,
        ).toBe(401);
      } finally {
        await app.close();
      }
    });
  });
});

describe('@ApproovBinding with a bad header name', () => {
  it('throws when the controller is defined, naming the header', () => {
    expect(() => ApproovBinding('Session Id')).toThrow(/Session Id/);
    expect(() => ApproovBinding('')).toThrow(TypeError);
  });
});

describe('the logs of this suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no secret, even in the boot errors Nest logged', () => {
    expect(
      logCapture.logger.lines.some(
        (line) => line.message.includes('ApproovConfigurationError') || line.level === 'error',
      ),
    ).toBe(true);
    expect(logCapture.leaks()).toEqual([]);
  });
});
