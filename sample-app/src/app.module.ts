import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ApproovModule, parseApproovSecrets, resolveSecretSource, type ApproovModuleOptions } from 'nestjs-approov';
import { AppController } from './app.controller.js';

/**
 * The secret comes from APPROOV_BASE64_SECRET, else APPROOV_BASE64URL_SECRET (environment or .env).
 * It is checked here, so that a bad value stops the boot with the variable's name in the message.
 */
export function approovOptionsFromConfig(config: ConfigService): ApproovModuleOptions {
  const source = resolveSecretSource(undefined, {
    APPROOV_BASE64_SECRET: config.get<string>('APPROOV_BASE64_SECRET'),
    APPROOV_BASE64URL_SECRET: config.get<string>('APPROOV_BASE64URL_SECRET'),
  });
  parseApproovSecrets(source);
  return { secret: source.value as string };
}

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    ApproovModule.forRootAsync({
      inject: [ConfigService],
      useFactory: approovOptionsFromConfig,
    }),
  ],
  controllers: [AppController],
})
export class AppModule {}
