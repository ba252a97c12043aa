import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { ApproovModule } from 'nestjs-approov';
import { controllers } from './controllers';
import { HelloResolver } from './hello.resolver';

// The shared app (its REST routes) plus Apollo, code first, with a resolver behind ApproovGuard.
@Module({
  imports: [
    ApproovModule.forRoot({ secret: process.env.APPROOV_BASE64_SECRET }),
    GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true }),
  ],
  controllers,
  providers: [HelloResolver],
})
export class AppModule {}
