import {
  All,
  Controller,
  Get,
  Module,
  Post,
  Put,
  UseGuards,
  Version,
  type DynamicModule,
} from '@nestjs/common';
import { APP_GUARD, RouterModule } from '@nestjs/core';
import {
  AllowApproovStatus,
  ApproovBinding,
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  SkipApproov,
} from 'nestjs-approov';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import { ApiApproov } from 'nestjs-approov/swagger';

// Apps for the OpenAPI suite: every way a route is protected or not, guards on controllers and
// handlers, then the same routes under a global guard (protectAllRoutes or an APP_GUARD provider),
// a global prefix, URI versioning and a RouterModule path.

/** No class-level guard: each handler says for itself. */
@Controller('mixed')
export class MixedController {
  @Get()
  open() {}

  @Get('guarded/:id')
  @UseGuards(ApproovGuard)
  guarded() {}

  @Post('bound')
  @ApproovBinding()
  bound() {}

  @Post('bound-two')
  @ApproovBinding('X-Device-Id', 'Authorization')
  boundTwo() {}

  @Get('status')
  @AllowApproovStatus('no_network')
  status() {}

  /** Skipped, yet ApproovGuard on it: the guard lets it through, so it is unprotected. */
  @Get('skipped')
  @UseGuards(ApproovGuard)
  @SkipApproov()
  skipped() {}
}

/** ApproovGuard on the controller. */
@Controller('guarded')
@UseGuards(ApproovGuard)
export class GuardedController {
  @Get()
  list() {}

  @Get('skipped')
  @SkipApproov()
  skipped() {}

  @Post('signed')
  @ApproovMessageSigning()
  signed() {}

  @Put('signed-digest')
  @ApproovMessageSigning({ requireContentDigest: true })
  signedDigest() {}

  /** @ApproovBinding outranks @SkipApproov. */
  @Post('skipped-but-bound')
  @SkipApproov()
  @ApproovBinding('Authorization')
  skippedButBound() {}

  @All('any')
  any() {}

  /** Protected, but left out of the document: nothing to add it to. */
  @Get('hidden')
  @ApiExcludeEndpoint()
  hidden() {}

  /** Not a route. */
  helper() {}
}

/** ApiApproov on routes addApproovToDocument documents too: nothing may appear twice. */
@Controller('decorated')
export class DecoratedController {
  @Post('bound')
  @ApiApproov({ binding: ['authorization'] })
  @ApproovBinding()
  bound() {}

  @Post('signed')
  @ApiApproov({ messageSigning: { requireContentDigest: true } })
  @ApproovMessageSigning({ requiredComponents: ['@method', 'content-digest'] })
  signed() {}

  /** ApiApproov documents a route the guard does not protect: addApproovToDocument leaves it. */
  @Get('documented-only')
  @ApiApproov({ messageSigning: true })
  documentedOnly() {}
}

const SIGNING = { requiredComponents: ['@method', '@target-uri', 'approov-token'] };

export function swaggerAppModule(secret: string): DynamicModule {
  @Module({
    imports: [ApproovModule.forRoot({ secret, messageSigning: SIGNING })],
    controllers: [MixedController, GuardedController, DecoratedController],
  })
  class SwaggerAppModule {}
  return { module: SwaggerAppModule };
}

/** No guard anywhere but the global one. */
@Controller('plain')
export class PlainController {
  @Get()
  list() {}

  @Get('skipped')
  @SkipApproov()
  skipped() {}

  @Post('bound')
  @ApproovBinding()
  bound() {}

  @Get('v')
  @Version('2')
  versioned() {}
}

@Controller('public')
@SkipApproov()
export class PublicController {
  @Get()
  page() {}

  @Post('signed')
  @ApproovMessageSigning()
  signed() {}
}

@Controller('users')
export class AdminController {
  @Get(':id')
  user() {}
}

@Module({ controllers: [AdminController] })
export class AdminModule {}

export type GlobalGuardForm = 'protectAllRoutes' | 'APP_GUARD provider';
export const GLOBAL_GUARD_FORMS: readonly GlobalGuardForm[] = [
  'protectAllRoutes',
  'APP_GUARD provider',
];

export function globalGuardAppModule(secret: string, form: GlobalGuardForm): DynamicModule {
  const options = { secret, tokenHeader: 'X-Approov-Token', bindingHeaders: ['X-Session'] };
  @Module({
    imports: [
      form === 'protectAllRoutes'
        ? ApproovModule.forRoot({ ...options, protectAllRoutes: true })
        : ApproovModule.forRoot(options),
      AdminModule,
      RouterModule.register([{ path: 'admin', module: AdminModule }]),
    ],
    controllers: [PlainController, PublicController],
    providers: form === 'protectAllRoutes' ? [] : [{ provide: APP_GUARD, useClass: ApproovGuard }],
  })
  class GlobalGuardAppModule {}
  return { module: GlobalGuardAppModule };
}
