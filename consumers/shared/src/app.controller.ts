import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApproovBinding, ApproovClaims, ApproovGuard, ApproovService } from 'nestjs-approov';

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
}
