import { UseGuards } from '@nestjs/common';
import { Query, Resolver } from '@nestjs/graphql';
import { ApproovClaims, ApproovGuard } from 'nestjs-approov';

@Resolver()
export class HelloResolver {
  @Query(() => String)
  @UseGuards(ApproovGuard)
  device(@ApproovClaims('did') did: string | undefined): string {
    return did ?? 'no did';
  }

  @Query(() => String)
  open(): string {
    return 'open';
  }
}
