import { Module } from '@nestjs/common';
import { ApproovModule } from 'nestjs-approov';
import { controllers } from './controllers';

@Module({
  imports: [ApproovModule.forRoot({ secret: process.env.APPROOV_BASE64_SECRET })],
  controllers,
})
export class AppModule {}
