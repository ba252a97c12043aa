import fc from 'fast-check';
import { signApproovRequest } from 'nestjs-approov/testing';
import { MessageSignatureVerifier } from '../../../src/core/message-signing/verify.js';
import { resolveMessageSigningOptions } from '../../../src/core/message-signing/options.js';
import { resolveAccountSigningKeys } from '../../../src/core/approov-config.js';
import { parseDictionaryStrict } from '../../../src/core/message-signing/structured-fields.js';
import { messageSigningFixture as fixture } from '../../support/message-signing-vectors.js';
import { ACCOUNT_KEY } from '../../support/client-profiles.js';
import { fuzzRuns, fuzzTimeoutMs, reportFuzzCounts } from '../../support/fuzz-config.js';

// Properties of the signature fields as clients may spread them over lines: the verifier never
// throws; a field split over lines at member boundaries reads as the one-line field; a label that
// appears on two lines is malformed, whatever else is around it.

const RUNS = fuzzRuns(300);
const counts: Record<string, number> = {};
const NOW = 1_800_000_000;
const claims = { exp: NOW + 60, ipk: fixture.ipk_spki_der_base64 };
const verifier = new MessageSignatureVerifier(resolveAccountSigningKeys(ACCOUNT_KEY));
const both = resolveMessageSigningOptions('Approov-Token', 0, { accept: ['install', 'account'] });

const signed = (['install', 'account'] as const).map((label) =>
  signApproovRequest({
    label,
    privateKey: fixture.test_private_key_pkcs8_or_sec1_der_base64,
    accountKey: ACCOUNT_KEY,
    method: 'GET',
    url: 'http://api.example.com/a',
    token: 't',
    created: NOW,
  }),
);
const members = {
  input: signed.map((headers) => headers['Signature-Input']),
  signature: signed.map((headers) => headers.Signature),
};

const labelArb = fc.constantFrom('install', 'account', 'sig1', 'x');
const junkMemberArb = fc.oneof(
  labelArb.map((label) => `${label}=:AAAA:`),
  labelArb.map((label) => `${label}="${'A'.repeat(88)}"`),
  labelArb.map((label) => `${label}=("@method");created=${NOW}`),
  fc.string({ maxLength: 40 }),
);

function request(inputLines: string[], signatureLines: string[]) {
  const rawHeaders = ['Host', 'api.example.com', 'Approov-Token', 't'];
  for (const line of inputLines) rawHeaders.push('Signature-Input', line);
  for (const line of signatureLines) rawHeaders.push('Signature', line);
  return { method: 'GET', target: '/a', encrypted: false, rawHeaders };
}

/** Splits `parts` into consecutive groups, one line each. */
const splitArb = (parts: string[]) =>
  fc.array(fc.boolean(), { minLength: parts.length, maxLength: parts.length }).map((cuts) => {
    const lines: string[] = [];
    parts.forEach((part, i) => {
      if (i === 0 || cuts[i]) lines.push(part);
      else lines[lines.length - 1] += `, ${part}`;
    });
    return lines;
  });

describe('signature fields over several lines (fuzz)', () => {
  it(
    'never throws on any mix of real, junk and repeated members over any number of lines',
    () => {
      const lineSetArb = fc.array(
        fc
          .array(fc.oneof(fc.constantFrom(...members.input, ...members.signature), junkMemberArb), {
            maxLength: 4,
          })
          .map((m) => m.join(', ')),
        { maxLength: 4 },
      );
      fc.assert(
        fc.property(lineSetArb, lineSetArb, (inputLines, signatureLines) => {
          counts['mixed lines'] = (counts['mixed lines'] ?? 0) + 1;
          const result = verifier.verify(request(inputLines, signatureLines), claims, both, NOW);
          expect(typeof result.ok).toBe('boolean');
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 5),
  );

  it(
    'reads the real members the same however they are split over lines',
    () => {
      fc.assert(
        fc.property(
          splitArb(members.input),
          splitArb(members.signature),
          (inputLines, signatureLines) => {
            counts['split lines'] = (counts['split lines'] ?? 0) + 1;
            const result = verifier.verify(request(inputLines, signatureLines), claims, both, NOW);
            expect(result).toMatchObject({
              ok: true,
              signatures: [{ label: 'install' }, { label: 'account' }],
            });
          },
        ),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 5),
  );

  it(
    'refuses a dictionary whose label repeats on another line',
    () => {
      fc.assert(
        fc.property(fc.array(junkMemberArb, { maxLength: 3 }), labelArb, (junk, label) => {
          counts['repeated label'] = (counts['repeated label'] ?? 0) + 1;
          const lines = [`${label}=1`, ...junk, `${label}=2`];
          expect(parseDictionaryStrict(lines.join(', '))).toBeNull();
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  afterAll(() => reportFuzzCounts('Signature fields over lines (core)', counts));
});
