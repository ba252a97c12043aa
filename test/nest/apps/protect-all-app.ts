import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService, registerAs } from '@nestjs/config';
import {
  ApproovBinding,
  ApproovClaims,
  ApproovModule,
  SkipApproov,
  type ApproovFailure,
  type ApproovModuleOptions,
} from 'nestjs-approov';

// protectAllRoutes: ApproovGuard on every route, @SkipApproov to opt out, under forRoot and under
// forRootAsync fed by @nestjs/config (ConfigService injection, and registerAs().asProvider()).

export const HELLO = { message: 'Hello, World!' };

@Controller()
export class GuardedController {
  /** No decorator at all: guarded by the global guard. */
  @Get('guarded')
  guarded(@ApproovClaims('did') did: unknown) {
    return { did: did ?? null };
  }

  @Get('skipped')
  @SkipApproov()
  skipped() {
    return HELLO;
  }

  /** @ApproovBinding outranks @SkipApproov on the same handler. */
  @Get('skipped-but-bound')
  @SkipApproov()
  @ApproovBinding()
  skippedButBound() {
    return HELLO;
  }
}

@Controller('public')
@SkipApproov()
export class PublicController {
  @Get('page')
  page() {
    return HELLO;
  }

  /** A handler binding in a skipped controller is still checked. */
  @Get('bound')
  @ApproovBinding('Authorization')
  bound() {
    return HELLO;
  }
}

export type ConfigForm = 'forRoot' | 'forRootAsync(ConfigService)' | 'forRootAsync(registerAs)';
export const CONFIG_FORMS: ConfigForm[] = [
  'forRoot',
  'forRootAsync(ConfigService)',
  'forRootAsync(registerAs)',
];

export interface ApproovSettings {
  secret: string;
  issuer: string;
  audience: string;
  failures: ApproovFailure[];
}

/** The same protected app, configured through one of the three forms. */
export function protectAllAppModule(form: ConfigForm, settings: ApproovSettings): DynamicModule {
  const options = (values: {
    secret?: string;
    issuer?: string;
    audience?: string;
  }): ApproovModuleOptions => ({
    secret: values.secret,
    issuer: values.issuer,
    audience: values.audience,
    onFailure: (failure) => settings.failures.push(failure),
  });
  const load = () => ({
    approov: { secret: settings.secret, issuer: settings.issuer, audience: settings.audience },
  });
  const approovConfig = registerAs('approov', () => load().approov);

  const approovModule =
    form === 'forRoot'
      ? ApproovModule.forRoot({ ...options(settings), protectAllRoutes: true })
      : form === 'forRootAsync(ConfigService)'
        ? ApproovModule.forRootAsync({
            imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [load] })],
            inject: [ConfigService],
            useFactory: (config: ConfigService) =>
              options({
                secret: config.getOrThrow<string>('approov.secret'),
                issuer: config.get<string>('approov.issuer'),
                audience: config.get<string>('approov.audience'),
              }),
            protectAllRoutes: true,
          })
        : ApproovModule.forRootAsync({
            imports: [ConfigModule.forFeature(approovConfig)],
            inject: [approovConfig.KEY],
            useFactory: (values: ReturnType<typeof load>['approov']) => options(values),
            protectAllRoutes: true,
          });

  @Module({})
  class ProtectAllAppModule {}
  return {
    module: ProtectAllAppModule,
    imports: [approovModule],
    controllers: [GuardedController, PublicController],
  };
}
