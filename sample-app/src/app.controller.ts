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

  // Message signing: the token must carry `ipk`, and the request must be signed with that key
  // (RFC 9421) as the Android and iOS SDKs sign by default. A covered Content-Digest is checked
  // against the bytes as sent, whatever the content type (ApproovModule keeps them itself); an
  // uncovered body is accepted.
  @Get('message-signing')
  @ApproovMessageSigning({ requireInstallationKey: true })
  messageSigning(): Greeting {
    return HELLO;
  }

  @Post('message-signing')
  @HttpCode(200)
  @ApproovMessageSigning({ requireInstallationKey: true })
  messageSigningPost(): Greeting {
    return HELLO;
  }

  // The body must be covered by Content-Digest (what Android signs for one-shot bodies).
  @Get('message-signing/strict')
  @ApproovMessageSigning({ requireInstallationKey: true, requireContentDigest: true })
  messageSigningStrict(): Greeting {
    return HELLO;
  }

  @Post('message-signing/strict')
  @HttpCode(200)
  @ApproovMessageSigning({ requireInstallationKey: true, requireContentDigest: true })
  messageSigningStrictPost(): Greeting {
    return HELLO;
  }

  // A valid `account` signature (hmac-sha256, key in APPROOV_MESSAGE_SIGNING_KEY) is required;
  // without the key these routes answer 401, and the boot log says why once.
  @Get('message-signing/account')
  @ApproovMessageSigning({ accept: ['account'] })
  messageSigningAccount(): Greeting {
    return HELLO;
  }

  @Post('message-signing/account')
  @HttpCode(200)
  @ApproovMessageSigning({ accept: ['account'] })
  messageSigningAccountPost(): Greeting {
    return HELLO;
  }
}
