import { randomUUID } from 'node:crypto';
import {
  createApproovInstallationKey,
  createApproovSecret,
  createApproovToken,
  signApproovRequest,
  type SignApproovRequestOptions,
} from 'nestjs-approov/testing';
import { httpRequest, statusAndBody, UNAUTHORIZED_BODY } from './http-client.js';

// Captured signed requests for the replay suites (Nest apps and the built sample app): built once,
// sent as often as a test likes, to whichever instance it likes.

/** One Approov account and one installation: the secret, the device key and its `ipk`. */
export const replayAccount = {
  secret: createApproovSecret(),
  installation: createApproovInstallationKey(),
};

export interface SignedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Reply {
  status: number;
  body: string;
}

/** The host every instance is reached by, as behind a load balancer: the signature covers @target-uri. */
export const API_HOST = 'api.example.com';

/**
 * A correctly signed request, as the SDK sends it. Its token is new (a `jti` of its own), so two
 * calls never sign the same content.
 */
export function signedRequest(
  method: string,
  path: string,
  { body, signing = {} }: { body?: string; signing?: Partial<SignApproovRequestOptions> } = {},
): SignedRequest {
  const token = createApproovToken({
    secret: replayAccount.secret,
    claims: { ipk: replayAccount.installation.ipk, jti: randomUUID() },
  });
  const contentHeaders: Record<string, string> =
    body !== undefined ? { 'content-type': 'application/json' } : {};
  const signature = signApproovRequest({
    privateKey: replayAccount.installation.privateKey,
    method,
    url: `http://${API_HOST}${path}`,
    token,
    body,
    headers: contentHeaders,
    ...signing,
  });
  return {
    method,
    path,
    body,
    headers: { host: API_HOST, 'approov-token': token, ...contentHeaders, ...signature } as Record<
      string,
      string
    >,
  };
}

/**
 * The same request signed again by the device, in the same second: same token, same covered
 * content, same `created`, a new ECDSA signature (a new random k). What an app sends when it
 * fires the same GET twice (a refresh and a prefetch, a double tap).
 */
export function signedAgain(request: SignedRequest): SignedRequest {
  const created = Number(/;created=(\d+)/.exec(request.headers['Signature-Input']!)![1]);
  const { host, 'approov-token': token, ...rest } = request.headers;
  const contentHeaders: Record<string, string> =
    request.body !== undefined ? { 'content-type': rest['content-type']! } : {};
  const signature = signApproovRequest({
    privateKey: replayAccount.installation.privateKey,
    method: request.method,
    url: `http://${host}${request.path}`,
    token: token!,
    body: request.body,
    headers: contentHeaders,
    created,
  });
  return { ...request, headers: { ...request.headers, ...signature } as Record<string, string> };
}

/** Sends a (captured) signed request to one instance: its status and body. */
export async function sendTo(
  baseUrl: string | URL,
  request: SignedRequest,
  extraHeaders: Record<string, string> = {},
): Promise<Reply> {
  return statusAndBody(
    await httpRequest(
      baseUrl,
      request.method,
      request.path,
      { ...request.headers, ...extraHeaders },
      request.body,
    ),
  );
}

export const HELLO_BODY = JSON.stringify({ message: 'Hello, World!' });
export const SERVED: Reply = { status: 200, body: HELLO_BODY };
export const UNAUTHORIZED: Reply = { status: 401, body: UNAUTHORIZED_BODY };
export const UNAVAILABLE: Reply = {
  status: 503,
  body: '{"statusCode":503,"message":"Service Unavailable"}',
};
