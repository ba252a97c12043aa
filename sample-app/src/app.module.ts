import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ApproovModule } from 'nestjs-approov';
import { AppController } from './app.controller.js';

@Module({
  imports: [
    // Loads .env into the environment, where ApproovModule reads APPROOV_BASE64_SECRET (else
    // APPROOV_BASE64URL_SECRET) itself: a bad value stops the boot with the variable's name.
    ConfigModule.forRoot({ isGlobal: true }),
    ApproovModule.forRoot({}),
  ],
  controllers: [AppController],
})
export class AppModule {}
