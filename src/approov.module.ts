import { Module } from '@nestjs/common';
import { ApproovConfigurableModuleClass } from './approov.module-definition.js';
import { ApproovGuard } from './approov.guard.js';
import { ApproovService } from './approov.service.js';
import { ApproovStrategy } from './approov.strategy.js';

/**
 * `ApproovModule.forRoot({ secret })` or `forRootAsync({ inject, useFactory })`; add
 * `protectAllRoutes: true` to guard every route. Global by default (`isGlobal: false` to opt out).
 */
@Module({
  providers: [ApproovService, ApproovGuard, ApproovStrategy],
  exports: [ApproovService, ApproovGuard, ApproovStrategy],
})
export class ApproovModule extends ApproovConfigurableModuleClass {}
