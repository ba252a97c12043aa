import { MAX_TOKEN_LENGTH } from '../../src/core/token/jws.js';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { buildRawRequest, rawRequest, UNAUTHORIZED_BODY } from '../support/http-client.js';
import { ADAPTERS } from '../support/nest-app.js';
import { OK_BODY, startTransportApp, type TransportApp } from './apps/transport-app.js';

// Raw sockets, because fetch (undici) merges repeated headers and re-encodes values.

const secret = createApproovSecret();
const token = (options: Omit<Parameters<typeof createApproovToken>[0], 'secret'> = {}) =>
  createApproovToken({ secret, ...options });

/** A correctly signed token of exactly `length` characters (a padding claim and kid adjust the size). */
function signedTokenOfLength(length: number): string {
  for (let kid = 0; kid < 8; kid++) {
    for (let pad = Math.max(0, Math.floor(((length - 200) * 3) / 4)); pad < length; pad++) {
      const candidate = token({
        claims: { pad: 'p'.repeat(pad) },
        joseHeader: { kid: 'k'.repeat(kid) },
      });
      if (candidate.length === length) return candidate;
      if (candidate.length > length) break;
    }
  }
  throw new Error(`no token of length ${length}`);
}

describe.each(ADAPTERS)('transport edge cases on %s', (_name, createAdapter) => {
  let server: TransportApp;
  const send = (
    method: string,
    path: string,
    headers: [string, string | Buffer][],
    body?: string,
  ) => rawRequest(server.port, buildRawRequest(method, path, headers, body));
  const lastFailure = () => server.failures.at(-1)?.code;

  beforeAll(async () => {
    server = await startTransportApp(secret, createAdapter);
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.failures.length = 0;
  });

  it('serves one valid Approov-Token header sent on a raw socket', async () => {
    const response = await send('GET', '/token-check', [['Approov-Token', token()]]);
    expect(response.status).toBe(200);
    expect(response.body).toBe(OK_BODY);
  });

  it('rejects two Approov-Token headers, each valid alone, with 401', async () => {
    const response = await send('GET', '/token-check', [
      ['Approov-Token', token()],
      ['approov-token', token({ claims: { did: 'second' } })],
    ]);
    expect(response.status).toBe(401);
    expect(response.body).toBe(UNAUTHORIZED_BODY);
    expect(lastFailure()).toBe('token_duplicated');
  });

  it('rejects two valid tokens joined in one header line as "a, b"', async () => {
    const response = await send('GET', '/token-check', [
      ['Approov-Token', `${token()}, ${token()}`],
    ]);
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_malformed');
  });

  it('serves a binding route with one Authorization header the token is bound to', async () => {
    const response = await send('GET', '/token-binding', [
      ['Approov-Token', token({ bind: 'Bearer first' })],
      ['Authorization', 'Bearer first'],
    ]);
    expect(response.status).toBe(200);
  });

  it('rejects two Authorization headers on a binding route, though Node keeps the first silently', async () => {
    const response = await send('GET', '/token-binding', [
      ['Approov-Token', token({ bind: 'Bearer first' })],
      ['Authorization', 'Bearer first'],
      ['Authorization', 'Bearer second'],
    ]);
    expect(response.status).toBe(401);
    expect(response.body).toBe(UNAUTHORIZED_BODY);
    expect(lastFailure()).toBe('binding_header_missing');
  });

  it('rejects a repeated SessionId on the double-binding route', async () => {
    const response = await send('GET', '/token-double-binding', [
      ['Approov-Token', token({ bind: ['Bearer a', 'session-1'] })],
      ['Authorization', 'Bearer a'],
      ['SessionId', 'session-1'],
      ['SessionId', 'session-1'],
    ]);
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('binding_header_missing');
  });

  it(`serves a correctly signed token of exactly ${MAX_TOKEN_LENGTH} characters`, async () => {
    const response = await send('GET', '/token-check', [
      ['Approov-Token', signedTokenOfLength(MAX_TOKEN_LENGTH)],
    ]);
    expect(response.status).toBe(200);
  });

  it(`rejects a correctly signed token of ${MAX_TOKEN_LENGTH + 1} characters as malformed, before any decoding`, async () => {
    const oversized = signedTokenOfLength(MAX_TOKEN_LENGTH + 1);
    expect(oversized).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const response = await send('GET', '/token-check', [['Approov-Token', oversized]]);
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_malformed');
  });

  it("rejects a token far over 4 KiB (12 KiB, under Node's header limit) with 401", async () => {
    const response = await send('GET', '/token-check', [
      ['Approov-Token', signedTokenOfLength(12 * 1024)],
    ]);
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_malformed');
  });

  it("answers 431 to a token header over Node's 16 KiB header limit, never 5xx", async () => {
    const response = await send('GET', '/token-check', [['Approov-Token', 'a'.repeat(20 * 1024)]]);
    expect(response.status).toBe(431);
  });

  it("answers 431 to any header over Node's limit on a binding route", async () => {
    const response = await send('GET', '/token-binding', [
      ['Approov-Token', token({ bind: 'Bearer x' })],
      ['Authorization', `Bearer ${'x'.repeat(20 * 1024)}`],
    ]);
    expect(response.status).toBe(431);
  });

  it('hashes a non-ASCII bound header as the latin1 bytes on the wire', async () => {
    const wire = Buffer.concat([
      Buffer.from('Bearer '),
      Buffer.from([0xe9, 0xff, 0x80, 0xa0]),
      Buffer.from('abc'),
    ]);
    const response = await send('GET', '/token-binding', [
      ['Approov-Token', token({ bind: wire.toString('latin1') })],
      ['Authorization', wire],
    ]);
    expect(response.status).toBe(200);
  });

  it('rejects a token bound to a UTF-8 reading of those non-ASCII bytes', async () => {
    const wire = Buffer.concat([Buffer.from('Bearer caf'), Buffer.from('é', 'utf8')]);
    const response = await send('GET', '/token-binding', [
      ['Approov-Token', token({ bind: 'Bearer café' })],
      ['Authorization', wire],
    ]);
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('binding_mismatch');
  });

  it('ignores a token in the query string', async () => {
    const response = await send(
      'GET',
      `/token-check?approov-token=${token()}&Approov-Token=${token()}`,
      [],
    );
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_missing');
  });

  it('ignores a token in a cookie', async () => {
    const response = await send('GET', '/token-check', [
      ['Cookie', `Approov-Token=${token()}; approov-token=${token()}`],
    ]);
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_missing');
  });

  it('ignores a token in a JSON body', async () => {
    const response = await send(
      'POST',
      '/token-check',
      [['Content-Type', 'application/json']],
      JSON.stringify({ 'Approov-Token': token(), approovToken: token() }),
    );
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_missing');
  });

  it('ignores a token in a form body', async () => {
    const response = await send(
      'POST',
      '/token-check',
      [['Content-Type', 'application/x-www-form-urlencoded']],
      `Approov-Token=${token()}`,
    );
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_missing');
  });

  it('ignores a token sent as Authorization: Bearer', async () => {
    const response = await send('GET', '/token-check', [['Authorization', `Bearer ${token()}`]]);
    expect(response.status).toBe(401);
    expect(lastFailure()).toBe('token_missing');
  });
});
