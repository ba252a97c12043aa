import { Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApproovBinding, ApproovGuard, ApproovMessageSigning } from 'nestjs-approov';

export interface Greeting {
  message: string;
}

const HELLO: Greeting = { message: 'Hello, World!' };

/** The routes of Approov's hello-world quickstarts (CONTRACT 5), one protection level each. */
@Controller()
export class AppController {
  @Get('hello')
  hello(): Greeting {
    return HELLO;
  }

  @Get('token-check')
  @UseGuards(ApproovGuard)
  tokenCheck(): Greeting {
    return HELLO;
  }

  // @ApproovBinding attaches ApproovGuard itself: the route can never be served unchecked.
  @Get('token-binding')
  @ApproovBinding('Authorization')
  tokenBinding(): Greeting {
    return HELLO;
  }

  // The token's `pay` is the hash of the Authorization value followed by the SessionId value.
  @Get('token-double-binding')
  @ApproovBinding('Authorization', 'SessionId')
  tokenDoubleBinding(): Greeting {
    return HELLO;
  }

  // Installation message signing: the token must carry `ipk`, and the request must be signed with
  // that key (RFC 9421). A body covered by Content-Digest is checked against the bytes as sent,
  // whatever its content type: ApproovModule keeps them itself, no `rawBody: true` needed.
  @Get('message-signing')
  @ApproovMessageSigning({ required: true })
  messageSigning(): Greeting {
    return HELLO;
  }

  @Post('message-signing')
  @HttpCode(200)
  @ApproovMessageSigning({ required: true })
  messageSigningPost(): Greeting {
    return HELLO;
  }
}
