import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createApproovJwks,
  createApproovKeyPair,
  createApproovKeysetToken,
  createApproovSecret,
  createApproovToken,
  startApproovJwksServer,
  type ApproovJwksServer,
} from 'nestjs-approov/testing';
import { runCli, type CliRun } from '../support/cli.js';

// `nestjs-approov check --jwks <url>` and `--jwks-file <path>`, spawned from the build: keyset
// tokens verify through the module's keyset and keyring, from a JWKS on 127.0.0.1 or in a file.

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, { env });
}

function expectUsageError(run: CliRun, message: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr.split('\n')[0]).toMatch(message);
  expect(run.stderr).toContain('Run "nestjs-approov check --help" for usage.');
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

const es256 = createApproovKeyPair('ES256', 'es-1');
const rs256 = createApproovKeyPair('RS256', 'rs-1');
const ps256 = createApproovKeyPair('PS256', 'ps-1');
const stranger = createApproovKeyPair('ES256', 'es-1'); // same kid, another key: a forgery

describe('nestjs-approov check --jwks <url>', () => {
  let server: ApproovJwksServer;
  beforeAll(async () => {
    server = await startApproovJwksServer(es256, rs256, ps256);
  });
  afterAll(() => server.close());

  it.each([es256, rs256])('accepts a %s token signed by a keyset key, and exits 0', async (key) => {
    const token = createApproovKeysetToken({ key, claims: { did: 'device-9' } });
    const run = await cli(['check', '--jwks', server.url, token]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^keyset: 2 key\(s\) for ES256, RS256$/m);
    expect(run.stdout).toContain('"did": "device-9"');
    expect(run.stdout).toMatch(/^verdict: valid$/m);
  });

  it('refuses a forged token, an expired one, and an algorithm not listed, with their codes', async () => {
    const cases: Array<[string, string[], string]> = [
      [createApproovKeysetToken({ key: stranger }), [], 'token_signature_invalid'],
      [createApproovKeysetToken({ key: es256, expiresIn: -60 }), [], 'token_expired'],
      [createApproovKeysetToken({ key: ps256 }), [], 'token_algorithm_not_allowed'],
      [
        createApproovKeysetToken({ key: es256 }),
        ['--algorithms', 'RS256'],
        'token_algorithm_not_allowed',
      ],
    ];
    for (const [token, extra, code] of cases) {
      const run = await cli(['check', '--jwks', server.url, ...extra, token]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(new RegExp(`^verdict: rejected \\(${code}\\)$`, 'm'));
    }
  });

  it('accepts PS256 when --algorithms lists it', async () => {
    const token = createApproovKeysetToken({ key: ps256 });
    const run = await cli(['check', '--jwks', server.url, '--algorithms', 'ES256,PS256', token]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^keyset: 2 key\(s\) for ES256, PS256$/m);
  });

  it('checks HS256 tokens with the secret beside the keyset, and the binding of keyset tokens', async () => {
    const secret = createApproovSecret();
    const hs = createApproovToken({ secret });
    expect((await cli(['check', '--jwks', server.url, '--secret', secret, hs])).code).toBe(0);
    // No secret: an HS256 token has no key to verify with.
    const noSecret = await cli(['check', '--jwks', server.url, hs]);
    expect(noSecret.code).toBe(1);
    expect(noSecret.stdout).toMatch(/^verdict: rejected \(token_algorithm_not_allowed\)$/m);
    const bound = createApproovKeysetToken({ key: es256, bind: 'Bearer u1' });
    const run = await cli(['check', '--jwks', server.url, bound, '--bind', 'Bearer u2']);
    expect(run.stdout).toMatch(/^verdict: rejected \(binding_mismatch\)$/m);
  });

  it('stops with exit 2 when the keyset cannot be read, naming why', async () => {
    server.fail('error');
    try {
      expectUsageError(
        await cli(['check', '--jwks', server.url, createApproovKeysetToken({ key: es256 })]),
        /--jwks: HTTP 503/,
      );
    } finally {
      server.fail(null);
    }
  });
});

describe('nestjs-approov check --jwks-file <path>', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'approov-check-jwks-'));
    file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify(createApproovJwks(es256, rs256)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies keyset tokens with the keys of the file', async () => {
    const valid = await cli([
      'check',
      '--jwks-file',
      file,
      createApproovKeysetToken({ key: rs256 }),
    ]);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toMatch(/^verdict: valid$/m);
    const forged = await cli([
      'check',
      '--jwks-file',
      file,
      createApproovKeysetToken({ key: stranger }),
    ]);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/^verdict: rejected \(token_signature_invalid\)$/m);
  });

  it('refuses a file that is missing or holds no JWK Set', async () => {
    const token = createApproovKeysetToken({ key: es256 });
    expectUsageError(
      await cli(['check', '--jwks-file', join(dir, 'missing.json'), token]),
      /--jwks-file .*missing\.json is not a readable file/,
    );
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, '<html>');
    expectUsageError(
      await cli(['check', '--jwks-file', garbage, token]),
      /--jwks-file: the response is not JSON/,
    );
  });

  it.each([
    [['--jwks', 'http://127.0.0.1:1/', '--jwks-file', 'x'], /give --jwks or --jwks-file, not both/],
    [['--algorithms', 'ES256'], /--algorithms needs --jwks or --jwks-file/],
    [['--jwks', 'http://example.com/jwks'], /--jwks must use https/],
    [['--jwks-file', 'x', '--algorithms', 'HS256'], /--algorithms lists HS256/],
  ])('refuses %j with a clear message', async (args, message) => {
    expectUsageError(await cli(['check', ...args, 'x.y.z']), message);
  });
});
