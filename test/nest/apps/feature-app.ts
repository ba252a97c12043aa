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
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import passportJwt from 'passport-jwt';
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
/** The app's own user-session JWT secret (its own Passport strategy, unrelated to Approov). */
export const APP_JWT_SECRET = 'app-session-secret-0123456789abcdef0123456789';

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

/** The app's own Passport JWT strategy, next to Approov's: the two names must not clash. */
@Injectable()
export class AppJwtStrategy extends PassportStrategy(passportJwt.Strategy, 'app-jwt') {
  constructor() {
    super({
      jwtFromRequest: passportJwt.ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: APP_JWT_SECRET,
      algorithms: ['HS256'],
    });
  }

  validate(payload: { sub: string }) {
    return { id: payload.sub, via: 'app-jwt' };
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

  /** AuthGuard('approov') runs before the binding guard here (decorators apply bottom-up). */
  @Get('passport-first-binding')
  @ApproovBinding('Authorization')
  @UseGuards(AuthGuard('approov'))
  passportFirstBinding() {
    return HELLO;
  }

  /** Approov and the app's own JWT strategy, each in its own guard: the app's user wins request.user. */
  @Get('approov-and-app-jwt')
  @UseGuards(AuthGuard('approov'), AuthGuard('app-jwt'))
  approovAndAppJwt(@Req() request: RequestWithUser, @ApproovClaims('did') did: unknown) {
    return { user: request.user ?? null, did: did ?? null };
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
    providers: [AppUserGuard, AppJwtStrategy],
  };
}
