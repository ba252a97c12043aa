import { ConfigurableModuleBuilder } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APPROOV_MODULE_EXTRAS, APPROOV_MODULE_OPTIONS } from './approov.constants.js';
import { ApproovGuard } from './approov.guard.js';
import type { ApproovModuleExtras, ApproovModuleOptions } from './approov.options.js';

export const { ConfigurableModuleClass: ApproovConfigurableModuleClass } =
  new ConfigurableModuleBuilder<ApproovModuleOptions>({
    moduleName: 'Approov',
    optionsInjectionToken: APPROOV_MODULE_OPTIONS,
  })
    .setClassMethodName('forRoot')
    .setExtras<ApproovModuleExtras>(
      { protectAllRoutes: false, isGlobal: true },
      (definition, extras) => ({
        ...definition,
        global: extras.isGlobal,
        providers: [
          ...(definition.providers ?? []),
          { provide: APPROOV_MODULE_EXTRAS, useValue: Object.freeze({ ...extras }) },
          ...(extras.protectAllRoutes ? [{ provide: APP_GUARD, useClass: ApproovGuard }] : []),
        ],
      }),
    )
    .build();
