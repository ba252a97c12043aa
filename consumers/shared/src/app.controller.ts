import { Controller, Get, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ApproovBinding, ApproovClaims, ApproovGuard } from 'nestjs-approov';
// `import type`: a type in a decorated signature, under isolatedModules + emitDecoratorMetadata (TS1272).
import type { ApproovTokenClaims } from 'nestjs-approov';

@Controller()
export class AppController {
  @Get('public')
  public(): { ok: true } {
    return { ok: true };
  }

  @Get('hello')
  @UseGuards(ApproovGuard)
  hello(@ApproovClaims('did') did: string | undefined): { hello: string } {
    return { hello: did ?? 'no did' };
  }

  @Get('bound')
  @ApproovBinding('authorization')
  bound(): { bound: true } {
    return { bound: true };
  }

  @Get('passport')
  @UseGuards(AuthGuard('approov'))
  passport(@ApproovClaims() claims: ApproovTokenClaims): { exp: number | undefined } {
    return { exp: claims.exp };
  }
}
