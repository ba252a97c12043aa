import { execFile } from 'node:child_process';
import { APPROOV_FAILURE_CODES } from 'nestjs-approov';
import { assertSampleAppBuilt, REPO_ROOT } from '../../scripts/sample-app.mjs';

// `npm run demo -- --once` is `npm run build && npm run build:sample && node scripts/demo.mjs --once`;
// the builds are npm test's, so this runs the script itself on the built dist.
interface Row {
  route: string;
  name: string;
  expected: string;
  actual: string;
  match: string;
  reason: string;
}

function runDemo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/demo.mjs', ...args],
      { cwd: REPO_ROOT, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** The rows of the printed table: the lines between the dashed rule and the blank line after it. */
function tableRows(stdout: string): Row[] {
  const lines = stdout.split('\n');
  const rule = lines.findIndex((line) => /^-+( +-+){5}$/.test(line));
  const rows: Row[] = [];
  if (rule === -1) return rows;
  for (const line of lines.slice(rule + 1)) {
    if (line.trim() === '') break;
    const [route, name, expected, actual, match, reason = ''] = line.split(/ {2,}/);
    rows.push({
      route: route!,
      name: name!,
      expected: expected!,
      actual: actual!,
      match: match!,
      reason,
    });
  }
  return rows;
}

beforeAll(assertSampleAppBuilt);

describe.each(['express', 'fastify'])('npm run demo -- --once (--platform %s)', (platform) => {
  let run: { code: number; stdout: string; stderr: string };
  let rows: Row[];

  beforeAll(async () => {
    run = await runDemo(['--once', '--platform', platform]);
    rows = tableRows(run.stdout);
  }, 60_000);

  it('exits 0 and says every case matched', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${rows.length}/${rows.length} cases matched.`);
  });

  it('labels the secret it generated as a demo secret', () => {
    expect(run.stdout).toMatch(
      /^DEMO secret \(random, for this run only[^\n]*\n {2}export DEMO_SECRET=[A-Za-z0-9+/]{86}==$/m,
    );
  });

  it('prints one matching row per case, expected status equal to actual', () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) {
      expect(row.match).toBe('yes');
      expect(row.actual).toBe(row.expected);
    }
  });

  it.each([
    ['/token-check', 'valid token', '200'],
    ['/token-check', 'expired token', '401'],
    ['/token-check', 'token signed with the wrong secret', '401'],
    ['/token-check', 'missing token', '401'],
    ['/token-check', 'token with no exp', '401'],
    ['/token-binding', 'bound token, right Authorization', '200'],
    ['/token-binding', 'bound token, wrong Authorization', '401'],
    ['/token-double-binding', 'double-bound token, right values', '200'],
    ['/token-double-binding', 'double-bound token, wrong order', '401'],
    ['/token-double-binding', 'double-bound token, wrong SessionId', '401'],
    ['/message-signing', 'signed request', '200'],
    ['/message-signing', 'the same signed request, replayed', '401'],
  ])('tours %s: %s (%s)', (route, name, status) => {
    expect(rows).toContainEqual(
      expect.objectContaining({ route, name, expected: status, actual: status }),
    );
  });

  it.each([
    ['POST /graphql', 'GraphQL { hello }, no token', 'data', ''],
    ['POST /graphql', 'GraphQL { shape }, valid token', 'data', ''],
    ['POST /graphql', 'GraphQL { shape }, no token', 'UNAUTHENTICATED', 'token_missing'],
    ['POST /graphql', 'GraphQL { shape }, expired token', 'UNAUTHENTICATED', 'token_expired'],
    ['ws /ws', 'WebSocket hello, valid token on the upgrade', 'answered', ''],
    ['ws /ws', 'WebSocket hello, no token', 'refused+closed', 'token_missing'],
    ['ws /ws', 'WebSocket hello, wrong secret', 'refused+closed', 'token_signature_invalid'],
  ])("tours the sample app's %s: %s (%s)", (route, name, outcome, reason) => {
    expect(rows).toContainEqual({
      route,
      name,
      expected: outcome,
      actual: outcome,
      match: 'yes',
      reason,
    });
  });

  it("shows each reject's reason code, read from the server log", () => {
    const rejects = rows.filter((row) => row.actual === '401');
    expect(rejects.length).toBeGreaterThan(0);
    for (const row of rejects) expect(APPROOV_FAILURE_CODES).toContain(row.reason);
    expect(rows.find((row) => row.name === 'expired token')?.reason).toBe('token_expired');
    expect(rows.find((row) => row.name === 'double-bound token, wrong order')?.reason).toBe(
      'binding_mismatch',
    );
    expect(rows.find((row) => row.name === 'the same signed request, replayed')?.reason).toBe(
      'signature_replayed',
    );
  });

  it('tours keyset tokens on a JWKS it serves itself: ES256, RS256, rotation, unknown kid, wrong iss', () => {
    const keyset = (name: string) => rows.find((row) => row.name === `keyset: ${name}`);
    for (const name of ['ES256 token', 'RS256 token', 'rotation, new key published'])
      expect(keyset(name)?.actual).toBe('200');
    expect(keyset('unknown kid')).toMatchObject({ actual: '401', reason: 'token_key_id_unknown' });
    expect(keyset('wrong iss')).toMatchObject({ actual: '401', reason: 'token_issuer_invalid' });
  });

  it('stops the sample app before exiting', async () => {
    const url = /listening on (http:\/\/\S+)/.exec(run.stdout)?.[1];
    expect(url).toBeDefined();
    await expect(fetch(`${url}/hello`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
  });
});

describe('npm run demo -- --once when the sample app cannot start', () => {
  it('exits non-zero with the reason and prints no table', async () => {
    const run = await runDemo(['--once', '--platform', 'koa']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^demo: the sample app exited with code 1:\nsample-app: cannot start: PLATFORM must be/,
    );
    expect(tableRows(run.stdout)).toEqual([]);
    expect(run.stdout).not.toContain('cases matched');
  });
});
