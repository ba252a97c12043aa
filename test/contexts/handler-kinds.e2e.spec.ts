import { Controller, Get, Module, UseGuards, type DynamicModule } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { GrpcMethod, MessagePattern } from '@nestjs/microservices';
import {
  ApproovBinding,
  ApproovGuard,
  ApproovMessageSigning,
  ApproovModule,
  SkipApproov,
} from 'nestjs-approov';
import { createApproovSecret } from 'nestjs-approov/testing';
import { bootError, startApp } from '../support/nest-app.js';

// Every kind of handler a Nest app serves, under protectAllRoutes: each is protected, or the app
// does not boot and says which handler and how to fix it. None is left silently unprotected.

const secret = createApproovSecret();

@Controller()
class HttpController {
  @Get('route')
  route() {
    return 'route';
  }
}

@Resolver()
class ShapesResolver {
  @Query(() => String)
  shape() {
    return 'circle';
  }
}

@WebSocketGateway()
class ShapesGateway {
  @SubscribeMessage('shape')
  shape() {
    return 'circle';
  }
}

@Controller()
class GrpcController {
  @GrpcMethod('Shapes', 'Device')
  device() {
    return {};
  }
}

@Controller()
class TcpController {
  @MessagePattern('shape')
  shape() {
    return 'circle';
  }
}

function appWith(
  providers: Array<new () => object>,
  controllers: Array<new () => object>,
): DynamicModule {
  @Module({})
  class EveryKindModule {}
  return {
    module: EveryKindModule,
    imports: [
      GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true }),
      ApproovModule.forRoot({ secret, protectAllRoutes: true }),
    ],
    providers,
    controllers,
  };
}

describe('protectAllRoutes across every handler kind', () => {
  it('names each handler the global guard does not reach, and only those', async () => {
    const error = await bootError(
      appWith([ShapesResolver, ShapesGateway], [HttpController, GrpcController, TcpController]),
      () => new ExpressAdapter(),
    );
    const lines = error.message.split('\n').slice(1);
    expect(lines).toHaveLength(3);
    expect(error.message).toContain('ShapesGateway.shape is a WebSocket gateway handler');
    expect(error.message).toContain('GrpcController.device is a microservice handler');
    expect(error.message).toContain('@UseGuards(ApproovGuard)');
    expect(error.message).toContain('TcpController.shape is a microservice handler');
    expect(error.message).not.toContain('HttpController');
    expect(error.message).not.toContain('ShapesResolver');
  });

  it('boots once each of them is guarded or skipped, and guards HTTP and GraphQL itself', async () => {
    @WebSocketGateway()
    @UseGuards(ApproovGuard)
    class GuardedGateway {
      @SubscribeMessage('shape')
      shape() {
        return 'circle';
      }
    }
    @Controller()
    @UseGuards(ApproovGuard)
    class GuardedGrpcController {
      @GrpcMethod('Shapes', 'Device')
      device() {
        return {};
      }
    }
    @Controller()
    @SkipApproov()
    class SkippedTcpController {
      @MessagePattern('shape')
      shape() {
        return 'circle';
      }
    }
    const app = await startApp(
      appWith(
        [ShapesResolver, GuardedGateway],
        [HttpController, GuardedGrpcController, SkippedTcpController],
      ),
      () => new ExpressAdapter(),
    );
    try {
      expect((await app.get('/route')).status).toBe(401);
      const graphql = await app.request(
        'POST',
        '/graphql',
        { 'Content-Type': 'application/json' },
        JSON.stringify({ query: '{ shape }' }),
      );
      expect(JSON.parse(graphql.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    } finally {
      await app.close();
    }
  });

  it.each([
    ['@ApproovBinding()', ApproovBinding()],
    ['@ApproovMessageSigning()', ApproovMessageSigning()],
  ] as const)('refuses %s on a WebSocket handler, naming it', async (name, decorator) => {
    @WebSocketGateway()
    class BoundGateway {
      @SubscribeMessage('shape')
      shape() {
        return 'circle';
      }
    }
    decorator(BoundGateway);
    const error = await bootError(appWith([BoundGateway], []), () => new ExpressAdapter());
    expect(error.message).toContain(`${name} on BoundGateway.shape`);
  });

  it.each([
    ['@ApproovBinding()', ApproovBinding()],
    ['@ApproovMessageSigning()', ApproovMessageSigning()],
  ] as const)('refuses %s on a gRPC handler, naming it', async (name, decorator) => {
    @Controller()
    class BoundGrpcController {
      @GrpcMethod('Shapes', 'Device')
      device() {
        return {};
      }
    }
    decorator(BoundGrpcController);
    const error = await bootError(appWith([], [BoundGrpcController]), () => new ExpressAdapter());
    expect(error.message).toContain(`${name} on BoundGrpcController.device`);
    expect(error.message).toContain('a microservice message has none');
  });
});
