import {
  Body,
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import {
  ApproovMessageSigning,
  ApproovModule,
  type ApproovFailureCode,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { startApp, type AdapterFactory, type RunningApp } from '../../support/nest-app.js';

export const HELLO = { message: 'Hello, World!' };

/** The routes under test: every flavour of @ApproovMessageSigning. */
@Controller()
export class SigningController {
  @Get('signed')
  @ApproovMessageSigning({ requireInstallationKey: true })
  getSigned(): typeof HELLO {
    return HELLO;
  }

  @Post('signed')
  @HttpCode(200)
  @ApproovMessageSigning({ requireInstallationKey: true })
  postSigned(@Body() _body: unknown): typeof HELLO {
    return HELLO;
  }

  @Get('optional')
  @ApproovMessageSigning()
  optional(): typeof HELLO {
    return HELLO;
  }

  @Get('proxied')
  @ApproovMessageSigning({ requireInstallationKey: true, trustProxy: true })
  proxied(): typeof HELLO {
    return HELLO;
  }

  // The GET vector covers only @method and approov-token.
  @Get('vector-get')
  @ApproovMessageSigning({
    requireInstallationKey: true,
    requiredComponents: ['@method', 'approov-token'],
  })
  vectorGet(): typeof HELLO {
    return HELLO;
  }

  // The POST vector's target URI is http://0.0.0.0:8111/token?param1=value1&param2=value2.
  @Post('token')
  @HttpCode(200)
  @ApproovMessageSigning({ requireInstallationKey: true })
  vectorPost(@Body() _body: unknown): typeof HELLO {
    return HELLO;
  }
}

/** Class-level options, overridden by one handler: the handler wins. */
@Controller('class')
@ApproovMessageSigning({ requireInstallationKey: true })
export class ClassLevelController {
  @Get('required')
  required(): typeof HELLO {
    return HELLO;
  }

  @Get('optional')
  @ApproovMessageSigning({ requireInstallationKey: false })
  optional(): typeof HELLO {
    return HELLO;
  }
}

export interface SigningApp extends RunningApp {
  /** Reject codes reported through onFailure, in order. */
  failures: ApproovFailureCode[];
}

/** The signing controllers around ApproovModule.forRoot(options), reporting to `failures`. */
export function signingAppModule(
  options: ApproovModuleOptions,
  failures: ApproovFailureCode[],
): DynamicModule {
  @Module({})
  class SigningAppModule {}
  return {
    module: SigningAppModule,
    imports: [
      ApproovModule.forRoot({ ...options, onFailure: (failure) => failures.push(failure.code) }),
    ],
    controllers: [SigningController, ClassLevelController],
  };
}

/** text/plain for the POST vector: Nest keeps the raw body only for parsers it registers. */
function useTextBodyParser(app: INestApplication): void {
  const type = app.getHttpAdapter().getType() === 'express' ? 'text' : 'text/plain';
  (app as unknown as { useBodyParser(type: string): void }).useBodyParser(type);
}

export async function startSigningApp(
  createAdapter: AdapterFactory,
  options: ApproovModuleOptions,
  { rawBody = true }: { rawBody?: boolean } = {},
): Promise<SigningApp> {
  const failures: ApproovFailureCode[] = [];
  const running = await startApp(signingAppModule(options, failures), createAdapter, {
    rawBody,
    configure: useTextBodyParser,
  });
  return { ...running, failures };
}
