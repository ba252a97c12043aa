import { Module } from '@nestjs/common';
import { ApproovModule } from 'nestjs-approov';
import { AppController } from './app.controller';

@Module({
  imports: [ApproovModule.forRoot({ secret: process.env.APPROOV_BASE64_SECRET })],
  controllers: [AppController],
})
export class AppModule {}
