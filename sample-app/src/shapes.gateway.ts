import { UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { ApproovGuard, SkipApproov } from 'nestjs-approov';

/**
 * A WebSocket gateway at ws://<host>:<port>/ws. The app sends its Approov token on the upgrade
 * request; every message is judged against it, and a message after its `exp` closes the socket.
 * Messages are JSON: `{"event":"hello","data":{}}` answers `{"event":"hello","data":{...}}`.
 */
@WebSocketGateway({ path: '/ws' })
@UseGuards(ApproovGuard)
export class ShapesGateway {
  @SubscribeMessage('hello')
  hello() {
    return { event: 'hello', data: { message: 'Hello, World!' } };
  }

  @SubscribeMessage('ping')
  @SkipApproov()
  ping() {
    return { event: 'ping', data: 'pong' };
  }
}
