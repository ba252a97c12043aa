import { readFileSync } from 'node:fs';

/** test/fixtures/approov-vectors.json: Approov's public token-check vectors with their expected status. */
export interface ApproovVectorCase {
  name: string;
  route: string;
  headers: Record<string, string>;
  expect: 200 | 401;
}
export interface ApproovVectorSet {
  source: string;
  secret_base64: string;
  /** Bound routes and their headers, in binding order. */
  binding: Record<string, string[]>;
  cases: ApproovVectorCase[];
}

export const approovVectorSets: ApproovVectorSet[] = (
  JSON.parse(
    readFileSync(new URL('../fixtures/approov-vectors.json', import.meta.url), 'utf8'),
  ) as {
    token_check_sets: ApproovVectorSet[];
  }
).token_check_sets;

/** The routes a set's cases use that need no token (the unprotected "hello" route). */
export const unprotectedRoutes = new Set(['/hello']);
