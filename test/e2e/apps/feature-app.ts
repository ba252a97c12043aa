import {
  Controller,
  Get,
  Injectable,
  Module,
  Req,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
} from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import {
  ApproovBinding,
  ApproovClaims,
  ApproovGuard,
  ApproovModule,
  type ApproovModuleOptions,
  type ApproovTokenClaims,
} from 'nestjs-approov';

// A test app that uses the package the way a user would, by its name: one route per feature.

export const HELLO = { message: 'Hello, World!' };
export const APP_USER = { id: 'app-user-1', role: 'member' };

interface RequestWithUser {
  user?: unknown;
  approov?: ApproovTokenClaims;
}

/** Stands for the app's own authentication: it sets request.user before Approov runs. */
@Injectable()
export class AppUserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<RequestWithUser>().user = { ...APP_USER };
    return true;
  }
}

@Controller()
export class FeatureController {
  @Get('hello')
  hello() {
    return HELLO;
  }

  @Get('token-check')
  @UseGuards(ApproovGuard)
  tokenCheck() {
    return HELLO;
  }

  @Get('claims')
  @UseGuards(ApproovGuard)
  claims(@ApproovClaims() claims: ApproovTokenClaims, @ApproovClaims('did') did: unknown) {
    return { claims, did: did ?? null };
  }

  /** No @UseGuards: @ApproovBinding alone must still check token and binding. */
  @Get('binding-only')
  @ApproovBinding()
  bindingOnly() {
    return HELLO;
  }

  @Get('double-binding')
  @ApproovBinding('Authorization', 'SessionId')
  doubleBinding() {
    return HELLO;
  }

  @Get('passport')
  @UseGuards(AuthGuard('approov'))
  passport(@Req() request: RequestWithUser, @ApproovClaims('did') did: unknown) {
    return { user: request.user ?? null, did: did ?? null };
  }

  @Get('passport-binding')
  @UseGuards(AuthGuard('approov'))
  @ApproovBinding('Authorization')
  passportBinding(@Req() request: RequestWithUser) {
    return { user: request.user ?? null };
  }

  @Get('app-user')
  @UseGuards(AppUserGuard, ApproovGuard)
  appUser(@Req() request: RequestWithUser) {
    return { user: request.user ?? null, did: request.approov?.did ?? null };
  }
}

/** Class-level binding to X-Device-Id; handlers may override it. */
@Controller('class-bound')
@ApproovBinding('X-Device-Id')
export class ClassBoundController {
  @Get('inherit')
  inherit() {
    return HELLO;
  }

  @Get('override')
  @ApproovBinding('Authorization')
  override() {
    return HELLO;
  }

  /** No argument on the handler: the module's bindingHeaders, not the class's list. */
  @Get('module-default')
  @ApproovBinding()
  moduleDefault() {
    return HELLO;
  }
}

/** The app module around ApproovModule.forRoot(options). */
export function featureAppModule(options: ApproovModuleOptions): DynamicModule {
  @Module({})
  class FeatureAppModule {}
  return {
    module: FeatureAppModule,
    imports: [ApproovModule.forRoot(options)],
    controllers: [FeatureController, ClassBoundController],
    providers: [AppUserGuard],
  };
}
