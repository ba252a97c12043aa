import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ApproovConfigurableModuleClass } from './approov.module-definition.js';
import { ApproovGuard } from './approov.guard.js';
import { ApproovService } from './approov.service.js';
import { ApproovStrategy } from './approov.strategy.js';
import { ApproovRawBodyCapture } from './approov.raw-body-capture.js';
import { ApproovHandlerScan } from './approov.handler-scan.js';

/**
 * `ApproovModule.forRoot({ secret })` or `forRootAsync({ inject, useFactory })`; add
 * `protectAllRoutes: true` to guard every route. Global by default (`isGlobal: false` to opt out).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    ApproovService,
    ApproovGuard,
    ApproovStrategy,
    ApproovRawBodyCapture,
    ApproovHandlerScan,
  ],
  exports: [ApproovService, ApproovGuard, ApproovStrategy],
})
export class ApproovModule extends ApproovConfigurableModuleClass {}
