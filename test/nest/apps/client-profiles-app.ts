import { Body, Controller, Get, HttpCode, Module, Post, type DynamicModule } from '@nestjs/common';
import {
  AllowApproovStatus,
  ApproovBinding,
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  type ApproovFailure,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { UseGuards } from '@nestjs/common';
import { PROFILE_ROUTES } from '../../support/client-profiles.js';

export const SERVED = { served: true };

/** One GET and one POST per route shape of the client-profile corpus. */
@Controller('profiles')
export class ProfilesController {
  @Get('default')
  @ApproovMessageSigning(PROFILE_ROUTES.default)
  getDefault(): typeof SERVED {
    return SERVED;
  }

  @Post('default')
  @HttpCode(200)
  @ApproovMessageSigning(PROFILE_ROUTES.default)
  postDefault(@Body() _body: unknown): typeof SERVED {
    return SERVED;
  }

  @Get('strict')
  @ApproovMessageSigning(PROFILE_ROUTES.strict)
  getStrict(): typeof SERVED {
    return SERVED;
  }

  @Post('strict')
  @HttpCode(200)
  @ApproovMessageSigning(PROFILE_ROUTES.strict)
  postStrict(@Body() _body: unknown): typeof SERVED {
    return SERVED;
  }

  @Get('account')
  @ApproovMessageSigning(PROFILE_ROUTES.account)
  getAccount(): typeof SERVED {
    return SERVED;
  }

  @Post('account')
  @HttpCode(200)
  @ApproovMessageSigning(PROFILE_ROUTES.account)
  postAccount(@Body() _body: unknown): typeof SERVED {
    return SERVED;
  }
}

/** Every kind of protected route, for checks that must hold on all of them. */
@Controller('protected')
export class ProtectedController {
  @Get('token')
  @UseGuards(ApproovGuard)
  token(): typeof SERVED {
    return SERVED;
  }

  @Get('binding')
  @ApproovBinding()
  binding(): typeof SERVED {
    return SERVED;
  }

  @Get('signed')
  @ApproovMessageSigning()
  signed(): typeof SERVED {
    return SERVED;
  }

  @Get('either')
  @ApproovMessageSigning({ accept: ['install', 'account'] })
  either(): typeof SERVED {
    return SERVED;
  }

  @Get('offline-ok')
  @AllowApproovStatus('no_network', 'poor_network')
  offlineOk(): typeof SERVED {
    return SERVED;
  }
}

export function clientProfilesModule(
  options: ApproovModuleOptions,
  failures: ApproovFailure[],
): DynamicModule {
  @Module({
    imports: [
      ApproovModule.forRoot({ ...options, onFailure: (failure) => failures.push(failure) }),
    ],
    controllers: [ProfilesController, ProtectedController],
  })
  class ClientProfilesModule {}
  return { module: ClientProfilesModule };
}
