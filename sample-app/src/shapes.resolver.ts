import { UseGuards } from '@nestjs/common';
import { Query, Resolver } from '@nestjs/graphql';
import { ApproovClaims, ApproovGuard } from 'nestjs-approov';

/** GraphQL at POST /graphql: `{ hello }` is open, `{ shape }` needs a valid Approov token. */
@Resolver()
export class ShapesResolver {
  @Query(() => String)
  hello(): string {
    return 'Hello, World!';
  }

  // The plain guard reads the token from the HTTP request that carried the query.
  @Query(() => String)
  @UseGuards(ApproovGuard)
  shape(@ApproovClaims('did') did: string | undefined): string {
    return did === undefined ? 'circle' : `circle for ${did}`;
  }
}
