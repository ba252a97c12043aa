import { Controller, Get, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ApproovBinding, ApproovClaims, ApproovGuard, ApproovService } from 'nestjs-approov';
// `import type`: a type in a decorated signature, under isolatedModules + emitDecoratorMetadata (TS1272).
import type { ApproovTokenClaims } from 'nestjs-approov';

@Controller()
export class AppController {
  // Injected by its type: only the decorator metadata the compiler emits (design:paramtypes) names
  // it, so a test transform without that metadata leaves it undefined and /ready answers 500.
  constructor(private readonly approov: ApproovService) {}

  @Get('ready')
  async ready(): Promise<{ replayStore: boolean }> {
    return { replayStore: await this.approov.checkReplayStoreHealth() };
  }

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
