import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import {
  ApproovModule,
  type ApproovFailure,
  type ApproovModuleExtras,
  type ApproovModuleOptions,
} from 'nestjs-approov';

/** The module of one context test app: ApproovModule reporting to `failures`, around its handlers. */
export function contextAppModule(
  options: ApproovModuleOptions & ApproovModuleExtras,
  failures: ApproovFailure[],
  handlers: { imports?: DynamicModule[]; providers?: Provider[]; controllers?: Type[] },
): DynamicModule {
  @Module({})
  class ContextAppModule {}
  return {
    module: ContextAppModule,
    imports: [
      ...(handlers.imports ?? []),
      ApproovModule.forRoot({ ...options, onFailure: (failure) => failures.push(failure) }),
    ],
    providers: handlers.providers ?? [],
    controllers: handlers.controllers ?? [],
  };
}
