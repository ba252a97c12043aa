import { UseGuards, type DynamicModule } from '@nestjs/common';
import { Args, Context, GraphQLModule, Mutation, Query, Resolver } from '@nestjs/graphql';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import {
  ApproovBinding,
  ApproovClaims,
  ApproovGuard,
  ApproovMessageSigning,
  SkipApproov,
  getApproovClaims,
  type ApproovFailure,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { contextAppModule } from './context-app-module.js';
import { startApp, type AdapterFactory, type RunningApp } from '../../support/nest-app.js';

// GraphQL over HTTP, as Nest apps serve it: Apollo on Express, Mercurius on Fastify. Resolvers use
// the plain ApproovGuard and decorators, with no subclass and no getRequest override.

@Resolver()
export class ShapesResolver {
  @Query(() => String)
  hello(): string {
    return 'Hello, World!';
  }

  @Query(() => String, { nullable: true })
  @UseGuards(ApproovGuard)
  device(@ApproovClaims('did') did: string | undefined): string | null {
    return did ?? null;
  }

  /** Reads the claims through the helper, from the GraphQL context's request. */
  @Query(() => String, { nullable: true })
  @UseGuards(ApproovGuard)
  deviceFromContext(@Context() context: { req: object }): string | null {
    return getApproovClaims(context.req)?.did ?? null;
  }

  /** No guard of its own: served unchecked unless protectAllRoutes is on. */
  @Query(() => String, { nullable: true })
  unguardedDevice(@ApproovClaims('did') did: string | undefined): string | null {
    return did ?? null;
  }

  @Query(() => String)
  @SkipApproov()
  skipped(): string {
    return 'skipped';
  }

  @Mutation(() => String)
  @ApproovBinding('Authorization')
  bound(@Args('text') text: string): string {
    return text.toUpperCase();
  }

  @Mutation(() => String)
  @ApproovMessageSigning({ requireInstallationKey: true, requireContentDigest: true })
  signed(@Args('text') text: string): string {
    return text.toUpperCase();
  }
}

export type GraphQLDriverName = 'Apollo' | 'Mercurius';

function graphQLModule(driver: GraphQLDriverName): DynamicModule {
  return driver === 'Apollo'
    ? GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true })
    : GraphQLModule.forRoot<MercuriusDriverConfig>({
        driver: MercuriusDriver,
        autoSchemaFile: true,
      });
}

export interface GraphQLApp extends RunningApp {
  failures: ApproovFailure[];
  /** POST /graphql with a JSON body; the parsed answer and the raw response. */
  graphql(
    query: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: GraphQLAnswer; text: string }>;
}

export interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export async function startGraphQLApp(
  driver: GraphQLDriverName,
  createAdapter: AdapterFactory,
  options: ApproovModuleOptions & { protectAllRoutes?: boolean },
): Promise<GraphQLApp> {
  const failures: ApproovFailure[] = [];
  const module = contextAppModule(options, failures, {
    imports: [graphQLModule(driver)],
    providers: [ShapesResolver],
  });
  const running = await startApp(module, createAdapter);
  return {
    ...running,
    failures,
    async graphql(query, headers = {}) {
      const response = await running.request(
        'POST',
        '/graphql',
        { 'Content-Type': 'application/json', ...headers },
        JSON.stringify({ query }),
      );
      return { status: response.status, body: JSON.parse(response.body), text: response.body };
    },
  };
}
