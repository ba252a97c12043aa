// The peer: Approov's NestJS quickstart style of integration, written here for comparison only.
// A Nest middleware hands the base64-decoded secret to jsonwebtoken.verify as a Buffer, so
// jsonwebtoken tries to parse it as a public key on every call. The quickstart's console.debug
// calls (which print the headers and the token) are left out: they would only slow it further.
import { Injectable, UnauthorizedException, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import jwt from 'jsonwebtoken';

@Injectable()
export class QuickstartApproovMiddleware implements NestMiddleware {
  private readonly approovSecret = Buffer.from(process.env.APPROOV_BASE64_SECRET ?? '', 'base64');

  use(
    req: IncomingMessage & { approovTokenClaims?: unknown },
    _res: ServerResponse,
    next: (error?: unknown) => void,
  ): void {
    const approovToken = req.headers['approov-token'];
    if (!approovToken) throw new UnauthorizedException('Unauthorized Access');
    let decoded: jwt.JwtPayload | string;
    try {
      decoded = jwt.verify(`${approovToken}`, this.approovSecret, { algorithms: ['HS256'] });
    } catch {
      throw new UnauthorizedException('Unauthorized Access');
    }
    if (typeof decoded === 'string' || !decoded.exp)
      throw new UnauthorizedException('Unauthorized Access');
    req.approovTokenClaims = decoded;
    next();
  }
}
