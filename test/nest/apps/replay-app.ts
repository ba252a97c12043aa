import {
  Body,
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  UseGuards,
  type DynamicModule,
} from '@nestjs/common';
import {
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  type ApproovFailure,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { startApp, type AdapterFactory, type RunningApp } from '../../support/nest-app.js';
import { replayAccount } from '../../support/replay-requests.js';

const HELLO = { message: 'Hello, World!' };

/** The routes the replay suites send to: protected by default, opted out, opted back in, optional, token only. */
@Controller()
export class ReplayController {
  @Get('protected')
  @ApproovMessageSigning({ requireInstallationKey: true })
  getProtected(): typeof HELLO {
    return HELLO;
  }

  @Post('protected')
  @HttpCode(200)
  @ApproovMessageSigning({ requireInstallationKey: true })
  postProtected(@Body() _body: unknown): typeof HELLO {
    return HELLO;
  }

  @Get('replayable')
  @ApproovMessageSigning({ requireInstallationKey: true, allowReplays: true })
  replayable(): typeof HELLO {
    return HELLO;
  }

  @Get('reprotected')
  @ApproovMessageSigning({ requireInstallationKey: true, allowReplays: false })
  reprotected(): typeof HELLO {
    return HELLO;
  }

  @Get('optional')
  @ApproovMessageSigning()
  optional(): typeof HELLO {
    return HELLO;
  }

  @Get('token-only')
  @UseGuards(ApproovGuard)
  tokenOnly(): typeof HELLO {
    return HELLO;
  }
}

export interface ReplayApp extends RunningApp {
  /** Everything onFailure received, in order. */
  reports: ApproovFailure[];
}

/** The replay routes around ApproovModule.forRoot (the replay account's secret, then `options`), reporting to `reports`. */
export function replayAppModule(
  options: ApproovModuleOptions,
  reports: ApproovFailure[],
): DynamicModule {
  @Module({})
  class ReplayAppModule {}
  return {
    module: ReplayAppModule,
    // A line per reject (rejectLog 'every'): the suites check the line of each replay and failed-open request.
    imports: [
      ApproovModule.forRoot({
        secret: replayAccount.secret,
        rejectLog: { lines: 'every' },
        ...options,
        onFailure: (failure) => reports.push(failure),
      }),
    ],
    controllers: [ReplayController],
  };
}

export async function startReplayApp(
  createAdapter: AdapterFactory,
  options: ApproovModuleOptions = {},
): Promise<ReplayApp> {
  const reports: ApproovFailure[] = [];
  const running = await startApp(replayAppModule(options, reports), createAdapter, {
    rawBody: true,
  });
  return { ...running, reports };
}
