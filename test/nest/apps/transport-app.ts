import { Body, Controller, Get, Module, Post, UseGuards, type DynamicModule } from '@nestjs/common';
import { ApproovBinding, ApproovGuard, ApproovModule, type ApproovFailure } from 'nestjs-approov';
import { startApp, type AdapterFactory, type RunningApp } from '../../support/nest-app.js';

// The sample app's routes, for the transport and HTTP-header fuzz suites (raw-socket requests).

const OK = { message: 'Hello, World!' };
export const OK_BODY = JSON.stringify(OK);

@Controller()
class TransportController {
  @Get('hello')
  hello() {
    return OK;
  }

  @Get('token-check')
  @UseGuards(ApproovGuard)
  tokenCheck() {
    return OK;
  }

  @Post('token-check')
  @UseGuards(ApproovGuard)
  tokenCheckPost(@Body() _body: unknown) {
    return OK;
  }

  @Get('token-binding')
  @ApproovBinding()
  tokenBinding() {
    return OK;
  }

  @Get('token-double-binding')
  @ApproovBinding('Authorization', 'SessionId')
  tokenDoubleBinding() {
    return OK;
  }
}

export interface TransportApp extends RunningApp {
  /** Reject reasons reported through onFailure, in order. */
  failures: ApproovFailure[];
}

function transportAppModule(secret: string, failures: ApproovFailure[]): DynamicModule {
  @Module({})
  class TransportAppModule {}
  return {
    module: TransportAppModule,
    imports: [ApproovModule.forRoot({ secret, onFailure: (failure) => failures.push(failure) })],
    controllers: [TransportController],
  };
}

export async function startTransportApp(
  secret: string,
  createAdapter: AdapterFactory,
): Promise<TransportApp> {
  const failures: ApproovFailure[] = [];
  return { ...(await startApp(transportAppModule(secret, failures), createAdapter)), failures };
}
