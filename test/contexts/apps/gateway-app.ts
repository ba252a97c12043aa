import { UseGuards, type DynamicModule, type INestApplication } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import {
  ApproovClaims,
  ApproovGuard,
  SkipApproov,
  type ApproovFailure,
  type ApproovModuleOptions,
} from 'nestjs-approov';
import { contextAppModule } from './context-app-module.js';
import { startApp, type AdapterFactory, type RunningApp } from '../../support/nest-app.js';

// WebSocket gateways on the app's own HTTP server, as the SDKs reach them: the token is on the
// upgrade (handshake) request. One gateway class per test app shape, so that metadata never
// crosses from one app to another.

export type WebSocketKind = 'socket.io' | 'ws';

@WebSocketGateway()
@UseGuards(ApproovGuard)
export class GuardedGateway {
  @SubscribeMessage('device')
  device(@ApproovClaims('did') did: string | undefined) {
    return { event: 'device', data: did ?? null };
  }

  @SubscribeMessage('ping')
  @SkipApproov()
  ping() {
    return { event: 'ping', data: 'pong' };
  }

  /** Skipped: it must see no claims, even on a connection whose other messages passed. */
  @SubscribeMessage('skipped-device')
  @SkipApproov()
  skippedDevice(@ApproovClaims('did') did: string | undefined) {
    return { event: 'skipped-device', data: did ?? null };
  }
}

/** No guard of its own: what protectAllRoutes must not leave silently unprotected. */
@WebSocketGateway()
export class UnguardedGateway {
  @SubscribeMessage('device')
  device(@ApproovClaims('did') did: string | undefined) {
    return { event: 'device', data: did ?? null };
  }
}

export interface GatewayApp extends RunningApp {
  failures: ApproovFailure[];
}

export function useWebSocketAdapter(kind: WebSocketKind) {
  return (app: INestApplication): void => {
    app.useWebSocketAdapter(kind === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  };
}

export function gatewayModule(
  gateway: new () => object,
  options: ApproovModuleOptions & { protectAllRoutes?: boolean },
  failures: ApproovFailure[],
): DynamicModule {
  return contextAppModule(options, failures, { providers: [gateway] });
}

export async function startGatewayApp(
  kind: WebSocketKind,
  createAdapter: AdapterFactory,
  options: ApproovModuleOptions & { protectAllRoutes?: boolean },
  gateway: new () => object = GuardedGateway,
): Promise<GatewayApp> {
  const failures: ApproovFailure[] = [];
  const running = await startApp(gatewayModule(gateway, options, failures), createAdapter, {
    configure: useWebSocketAdapter(kind),
  });
  return { ...running, failures };
}
