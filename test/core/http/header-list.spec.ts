import fc from 'fast-check';
import { resolveApproovConfig } from '../../../src/core/approov-config.js';
import { ApproovVerifier } from '../../../src/core/token/verifier.js';
import { headerListMayBeCut } from '../../../src/core/http/request-headers.js';
import { readApproovStatus, readTokenHeaderStatus } from '../../../src/core/http/approov-status.js';
import { messageSigningFixture } from '../../support/message-signing-vectors.js';

const filler = (lines: number): string[] =>
  Array.from({ length: lines }, (_, i) => [`X-Filler-${i}`, 'a']).flat();

describe('a header list Node may have cut', () => {
  it('is assumed once rawHeaders reaches the default 2000 entries', () => {
    expect(headerListMayBeCut({ rawHeaders: filler(999) })).toBe(false);
    expect(headerListMayBeCut({ rawHeaders: filler(1000) })).toBe(true);
    expect(headerListMayBeCut({ rawHeaders: filler(1023) })).toBe(true);
  });

  it("follows the server's maxHeadersCount, and 0 (no cap) never cuts", () => {
    const socket = (maxHeadersCount: number | null) => ({ server: { maxHeadersCount } });
    expect(headerListMayBeCut({ rawHeaders: filler(50), socket: socket(50) })).toBe(true);
    expect(headerListMayBeCut({ rawHeaders: filler(49), socket: socket(50) })).toBe(false);
    expect(headerListMayBeCut({ rawHeaders: filler(1000), socket: socket(null) })).toBe(true);
    expect(headerListMayBeCut({ rawHeaders: filler(5000), socket: socket(0) })).toBe(false);
  });

  it('is never assumed without rawHeaders (HTTP/2 compatibility objects, test doubles)', () => {
    expect(headerListMayBeCut({ headers: { 'approov-token': 'x' } })).toBe(false);
  });

  it('fails the token check closed, even with a valid token in front', () => {
    const verifier = new ApproovVerifier(
      resolveApproovConfig({ secret: messageSigningFixture.token_secret_base64 }, {}).verifier,
    );
    const rawHeaders = ['Approov-Token', 'a.b.c', ...filler(1000)];
    expect(verifier.verifyRequest({ rawHeaders })).toEqual({
      ok: false,
      code: 'request_headers_too_many',
    });
  });
});

describe('Approov-Status', () => {
  it.each<[string, string[], string | undefined]>([
    ['absent', [], undefined],
    ['a status word', ['Approov-Status', 'no_network'], 'no_network'],
    ['upper case, folded', ['approov-status', 'MITM_DETECTED'], 'mitm_detected'],
    ['a line break attempt', ['Approov-Status', 'success\r\nfake: 1'], 'invalid'],
    ['too long', ['Approov-Status', 'a'.repeat(33)], 'invalid'],
    ['repeated', ['Approov-Status', 'success', 'Approov-Status', 'rejected'], 'invalid'],
    ['a space inside', ['Approov-Status', 'poor network'], 'invalid'],
  ])('reads %s', (_case, rawHeaders, expected) => {
    expect(readApproovStatus({ rawHeaders })).toBe(expected);
  });
});

describe('an SDK status in the token header', () => {
  it.each<[string, string[], string | undefined]>([
    ['absent', [], undefined],
    ['a status word', ['Approov-Token', 'NO_NETWORK'], 'no_network'],
    ['a status word with spaces around', ['approov-token', ' MITM_DETECTED '], 'mitm_detected'],
    ['a word that is no SDK status', ['Approov-Token', 'SUCCESS'], undefined],
    ['a token', ['Approov-Token', 'a.b.c'], undefined],
    ['repeated', ['Approov-Token', 'NO_NETWORK', 'Approov-Token', 'NO_NETWORK'], undefined],
  ])('reads %s', (_case, rawHeaders, expected) => {
    expect(readTokenHeaderStatus({ rawHeaders }, 'approov-token')).toBe(expected);
  });
});

describe('Approov-Status (fuzz)', () => {
  it('only ever reports a short lower-case word or "invalid", whatever the client sends', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 64 }), { maxLength: 3 }),
        (values) => {
          const status = readApproovStatus({
            rawHeaders: values.flatMap((value) => ['Approov-Status', value]),
          });
          if (status !== undefined) expect(status).toMatch(/^(?:[a-z][a-z0-9_]{0,31}|invalid)$/);
          expect(status === undefined).toBe(
            values.length === 0 || (values.length === 1 && values[0] === ''),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
