import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ApproovModule } from 'nestjs-approov';
import { AppController } from './app.controller.js';
import { replayOptionsFromConfig } from './replay-store.js';

@Module({
  imports: [
    // Loads .env into the environment, where ApproovModule reads APPROOV_BASE64_SECRET (else
    // APPROOV_BASE64URL_SECRET) itself: a bad value stops the boot with the variable's name.
    ConfigModule.forRoot({ isGlobal: true }),
    // The replay store comes from REDIS_URL through ConfigService (in memory when unset).
    ApproovModule.forRootAsync({
      inject: [ConfigService],
      useFactory: async (config: ConfigService) => ({ replay: await replayOptionsFromConfig(config) }),
    }),
  ],
  controllers: [AppController],
})
export class AppModule {}
