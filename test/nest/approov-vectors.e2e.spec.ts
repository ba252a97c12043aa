import { approovVectorSets } from '../support/approov-vectors.js';
import { VECTOR_GUARDS, vectorAppModule } from './apps/vectors-app.js';
import { UNAUTHORIZED_BODY, stableHeaders, type HttpResponse } from '../support/http-client.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// All 34 cases of Approov's public vectors (test/fixtures/approov-vectors.json), end to end,
// through ApproovGuard and AuthGuard('approov'), on Express and Fastify.

const SETS = approovVectorSets.map((set, index) => [index === 0 ? 'A' : 'B', set] as const);
for (const [, set] of SETS) logCapture.addSecret(set.secret_base64);

const combinations = ADAPTERS.flatMap(([platform, createAdapter]) =>
  VECTOR_GUARDS.flatMap((guard) =>
    SETS.map(([label, set]) => [platform, guard, label, createAdapter, set] as const),
  ),
);

describe.each(combinations)(
  '%s, %s, vector set %s',
  (_platform, guard, label, createAdapter, set) => {
    let app: RunningApp;
    const rejects: HttpResponse[] = [];

    beforeAll(async () => {
      app = await startApp(vectorAppModule(label, set, guard), createAdapter);
    });
    afterAll(() => app?.close());

    it.each(set.cases.map((vector) => [vector.expect, vector.route, vector.name, vector] as const))(
      '%i on %s: %s',
      async (expected, route, _name, vector) => {
        const response = await app.get(route, vector.headers);
        expect(response.status).toBe(expected);
        if (expected === 200) {
          expect(JSON.parse(response.body)).toEqual({ message: 'Hello, World!' });
        } else {
          expect(response.body).toBe(UNAUTHORIZED_BODY);
          rejects.push(response);
        }
      },
    );

    it('answered every reject with the same body and headers', () => {
      expect(rejects.length).toBe(set.cases.filter((vector) => vector.expect === 401).length);
      for (const response of rejects) {
        expect(response.body).toBe(rejects[0]!.body);
        expect(stableHeaders(response)).toEqual(stableHeaders(rejects[0]!));
        expect(response.headers['www-authenticate']).toBeUndefined();
      }
    });
  },
);

describe('the public vectors', () => {
  it('number 34 cases in two sets', () => {
    expect(SETS.reduce((count, [, set]) => count + set.cases.length, 0)).toBe(34);
  });
});

describe('the logs of this suite', () => {
  afterAll(() => logCapture.stop());

  it('hold no token, no bound header value and no secret', () => {
    expect(logCapture.approovLines().length).toBeGreaterThan(0);
    expect(logCapture.leaks()).toEqual([]);
  });
});
