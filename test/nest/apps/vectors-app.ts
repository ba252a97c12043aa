import {
  Controller,
  Get,
  Module,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type Type,
} from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ApproovBinding, ApproovGuard, ApproovModule } from 'nestjs-approov';
import type { ApproovVectorSet } from '../../support/approov-vectors.js';

// The routes of Approov's public vector sets, behind ApproovGuard or AuthGuard('approov').
// Set A (hello-world quickstarts): /hello, /token-check, /token-binding (Authorization).
// Set B (ASP.NET quickstart): /token, /token_binding (Authorization then X-Device-Id).

const HELLO = { message: 'Hello, World!' };

export type VectorGuard = 'ApproovGuard' | "AuthGuard('approov')";
export const VECTOR_GUARDS: VectorGuard[] = ['ApproovGuard', "AuthGuard('approov')"];

const guardClass = (guard: VectorGuard): Type<CanActivate> =>
  guard === 'ApproovGuard' ? ApproovGuard : AuthGuard('approov');

function setAController(guard: Type<CanActivate>, binding: string[]): Type {
  @Controller()
  class SetAController {
    @Get('hello')
    hello() {
      return HELLO;
    }

    @Get('token-check')
    @UseGuards(guard)
    tokenCheck() {
      return HELLO;
    }

    @Get('token-binding')
    @UseGuards(guard)
    @ApproovBinding(...binding)
    tokenBinding() {
      return HELLO;
    }
  }
  return SetAController;
}

function setBController(guard: Type<CanActivate>, binding: string[]): Type {
  @Controller()
  class SetBController {
    @Get('token')
    token() {
      return HELLO;
    }

    @Get('token_binding')
    @UseGuards(guard)
    @ApproovBinding(...binding)
    tokenBinding() {
      return HELLO;
    }
  }
  // /token is guarded too; declared apart so the decorator applies to the handler only.
  UseGuards(guard)(
    SetBController.prototype,
    'token',
    Object.getOwnPropertyDescriptor(SetBController.prototype, 'token')!,
  );
  return SetBController;
}

/** The app for one vector set ('A' or 'B'), with its own secret and the chosen guard. */
export function vectorAppModule(
  label: 'A' | 'B',
  set: ApproovVectorSet,
  guard: VectorGuard,
): DynamicModule {
  const controller =
    label === 'A'
      ? setAController(guardClass(guard), set.binding['/token-binding']!)
      : setBController(guardClass(guard), set.binding['/token_binding']!);
  @Module({})
  class VectorAppModule {}
  return {
    module: VectorAppModule,
    imports: [ApproovModule.forRoot({ secret: set.secret_base64 })],
    controllers: [controller],
  };
}
