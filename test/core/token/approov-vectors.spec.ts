import { createSecretKey } from 'node:crypto';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { ApproovVerifier } from '../../../src/core/token/verifier.js';
import { decodeBase64AnyStrict } from '../../../src/core/encoding/base64.js';
import { approovVectorSets, unprotectedRoutes } from '../../support/approov-vectors.js';

// Approov's public vectors through the core alone (the e2e suite runs them through both guards).

describe('the public vectors fixture', () => {
  it('holds the 34 cases of both token-check sets', () => {
    expect(approovVectorSets).toHaveLength(2);
    expect(approovVectorSets.reduce((count, set) => count + set.cases.length, 0)).toBe(34);
  });
});

describe.each(approovVectorSets.map((set, index) => [`set ${'AB'[index]}`, set] as const))(
  '%s',
  (_label, set) => {
    const verifier = new ApproovVerifier({
      keyring: TokenKeyring.ofSecrets([createSecretKey(decodeBase64AnyStrict(set.secret_base64)!)]),
      cacheSize: 0,
    });
    const protectedCases = set.cases.filter((vector) => !unprotectedRoutes.has(vector.route));

    it.each(protectedCases.map((vector) => [vector.name, vector] as const))(
      '%s',
      (_name, vector) => {
        const binding = (set.binding[vector.route] ?? []).map((name) => name.toLowerCase());
        const result = verifier.verifyRequest(
          { rawHeaders: Object.entries(vector.headers).flat() },
          binding,
        );
        expect(result.ok ? 200 : 401).toBe(vector.expect);
      },
    );
  },
);
