import { Controller, Get, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ApproovClaims } from 'nestjs-approov';
// `import type`: a type in a decorated signature, under isolatedModules + emitDecoratorMetadata (TS1272).
import type { ApproovTokenClaims } from 'nestjs-approov';

// Only in apps that install Passport (consumers/run.mjs leaves it out of the others):
// ApproovModule registers the 'approov' strategy by itself, with no import or provider here.
@Controller()
export class PassportController {
  @Get('passport')
  @UseGuards(AuthGuard('approov'))
  passport(@ApproovClaims() claims: ApproovTokenClaims): { exp: number | undefined } {
    return { exp: claims.exp };
  }
}
