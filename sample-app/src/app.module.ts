import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { GraphQLModule } from '@nestjs/graphql';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { ApproovConfigurationError, ApproovModule } from 'nestjs-approov';
import { AppController } from './app.controller.js';
import { replayOptionsFromConfig } from './replay-store.js';
import { ShapesGateway } from './shapes.gateway.js';
import { ShapesResolver } from './shapes.resolver.js';

/** APPROOV_REJECT_LOG: 'summary' (default: a flood of rejects cannot flood the log) or 'every' (a line per reject). */
function rejectLogMode(config: ConfigService): 'summary' | 'every' {
  const mode = config.get<string>('APPROOV_REJECT_LOG') ?? 'summary';
  if (mode !== 'summary' && mode !== 'every') {
    throw new ApproovConfigurationError('APPROOV_REJECT_LOG must be "summary" or "every".');
  }
  return mode;
}

@Module({
  imports: [
    // Loads .env into the environment, where ApproovModule reads APPROOV_BASE64_SECRET (else
    // APPROOV_BASE64URL_SECRET) itself: a bad value stops the boot with the variable's name.
    // So it reads APPROOV_JWKS_URI, APPROOV_ISSUER and APPROOV_AUDIENCE (keysets; the secret is
    // then optional).
    ConfigModule.forRoot({ isGlobal: true }),
    // The replay store comes from REDIS_URL through ConfigService (in memory when unset).
    ApproovModule.forRootAsync({
      inject: [ConfigService],
      useFactory: async (config: ConfigService) => ({
        rejectLog: { lines: rejectLogMode(config) },
        replay: await replayOptionsFromConfig(config),
      }),
    }),
  ],
  controllers: [AppController],
  providers: [ShapesResolver, ShapesGateway],
})
export class AppModule {
  /** GraphQL at /graphql with the driver each platform pairs with: Apollo on Express, Mercurius on Fastify. */
  static forPlatform(platform: 'express' | 'fastify'): DynamicModule {
    return {
      module: AppModule,
      imports: [
        platform === 'fastify'
          ? GraphQLModule.forRoot<MercuriusDriverConfig>({
              driver: MercuriusDriver,
              autoSchemaFile: true,
            })
          : GraphQLModule.forRoot<ApolloDriverConfig>({
              driver: ApolloDriver,
              autoSchemaFile: true,
            }),
      ],
    };
  }
}
