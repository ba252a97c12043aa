import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

export function createApp(): Promise<INestApplication> {
  return NestFactory.create(AppModule, { logger: ['error', 'warn'] });
}
