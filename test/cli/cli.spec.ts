import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TokenKeyring } from '../../src/core/keys/keyring.js';
import { parseApproovSecrets } from '../../src/core/keys/secret.js';
import { verifyApproovToken } from '../../src/core/token/jws.js';
import {
  approovBindingHash,
  createApproovSecret,
  createApproovToken,
} from 'nestjs-approov/testing';
import { CLI, runCli, type CliRun } from '../support/cli.js';

// Spawns the built CLI (the package's "bin") as a user would run it.
const SECRET = createApproovSecret();
const keyring = TokenKeyring.ofSecrets(parseApproovSecrets({ value: SECRET, setting: 'test' }));

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, { env });
}

const payloadOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

/** A usage error: exit code 2, a one-line message and a pointer to --help on stderr, no stack trace. */
function expectUsageError(run: CliRun, message: RegExp, help = 'nestjs-approov'): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^nestjs-approov: /);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toBe(`Run "${help} --help" for usage.`);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does).`);
});

describe('nestjs-approov piped into a reader that closes early (like | head -1)', () => {
  it('ends quietly with exit 0, no EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [CLI, 'sign', '--new-key'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    });
    child.stdout.destroy(); // the reader is gone before the CLI writes its first line
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('nestjs-approov (no command)', () => {
  it('prints the usage on stderr and exits 2', async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: nestjs-approov <command>');
  });

  it('prints the usage on stdout for --help and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['secret', 'token', 'check', 'sign'])
      expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('prints the package version for --version', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects an unknown command', async () => {
    expectUsageError(await cli(['mint']), /unknown command "mint"/);
  });

  it.each(['secret', 'token', 'check', 'sign'])(
    'prints the help of %p for "<command> --help" and for "help <command>"',
    async (command) => {
      const viaFlag = await cli([command, '--help']);
      const viaHelp = await cli(['help', command]);
      expect(viaFlag.code).toBe(0);
      expect(viaFlag.stdout).toContain(`Usage: nestjs-approov ${command}`);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
    },
  );
});

describe('nestjs-approov secret', () => {
  it('prints a new canonical base64 secret of 64 random bytes', async () => {
    const [first, second] = await Promise.all([cli(['secret']), cli(['secret'])]);
    expect(first.code).toBe(0);
    const secret = first.stdout.trim();
    expect(secret).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(Buffer.from(secret, 'base64')).toHaveLength(64);
    expect(second.stdout.trim()).not.toBe(secret);
  });

  it('refuses arguments', async () => {
    expectUsageError(
      await cli(['secret', 'extra']),
      /Unexpected argument 'extra'/,
      'nestjs-approov secret',
    );
  });
});

describe('nestjs-approov token', () => {
  it('mints a token the core accepts, valid 300 s by default', async () => {
    const before = Math.floor(Date.now() / 1000);
    const run = await cli(['token', '--secret', SECRET]);
    const after = Math.floor(Date.now() / 1000);
    expect(run.code).toBe(0);
    const token = run.stdout.trim();
    const result = verifyApproovToken(token, keyring, Date.now() / 1000);
    if (!result.ok) throw new Error(result.code);
    expect(result.claims.exp).toBeGreaterThanOrEqual(before + 300);
    expect(result.claims.exp).toBeLessThanOrEqual(after + 300);
    expect(Object.keys(result.claims)).toEqual(['exp']);
  });

  it('takes the secret from APPROOV_BASE64_SECRET, then APPROOV_BASE64URL_SECRET', async () => {
    const fromStandard = await cli(['token'], { APPROOV_BASE64_SECRET: SECRET });
    const fromUrl = await cli(['token'], {
      APPROOV_BASE64URL_SECRET: Buffer.from(SECRET, 'base64').toString('base64url'),
    });
    for (const run of [fromStandard, fromUrl]) {
      expect(run.code).toBe(0);
      expect(verifyApproovToken(run.stdout.trim(), keyring, Date.now() / 1000).ok).toBe(true);
    }
  });

  it('sets exp from --exp, and makes an expired token with a negative one', async () => {
    const before = Math.floor(Date.now() / 1000);
    const long = payloadOf(
      (await cli(['token', '--secret', SECRET, '--exp', '3600'])).stdout.trim(),
    );
    expect(long.exp).toBeGreaterThanOrEqual(before + 3600);
    const expired = (await cli(['token', '--secret', SECRET, '--exp=-60'])).stdout.trim();
    expect(verifyApproovToken(expired, keyring, Date.now() / 1000)).toEqual({
      ok: false,
      code: 'token_expired',
    });
  });

  it('leaves exp out with --no-exp', async () => {
    const token = (
      await cli(['token', '--secret', SECRET, '--no-exp', '--claim', 'did=x'])
    ).stdout.trim();
    expect(payloadOf(token)).toEqual({ did: 'x' });
    expect(verifyApproovToken(token, keyring, Date.now() / 1000)).toEqual({
      ok: false,
      code: 'token_expiration_missing',
    });
  });

  it('adds --claim values, parsed as JSON when they parse and kept as strings otherwise', async () => {
    const run = await cli([
      'token',
      '--secret',
      SECRET,
      '--claim',
      'did=device-1',
      '--claim',
      'n=5',
      '--claim',
      'flag=true',
      '--claim',
      'aud=["a","b"]',
      '--claim',
      'eq=a=b',
      '--claim',
      'empty=',
    ]);
    expect(run.code).toBe(0);
    expect(payloadOf(run.stdout.trim())).toMatchObject({
      did: 'device-1',
      n: 5,
      flag: true,
      aud: ['a', 'b'],
      eq: 'a=b',
      empty: '',
    });
  });

  it('concatenates repeated --bind values in order into pay', async () => {
    const token = (
      await cli(['token', '--secret', SECRET, '--bind', 'Bearer abc', '--bind', 'session-1'])
    ).stdout.trim();
    expect(payloadOf(token).pay).toBe(approovBindingHash('Bearer abc', 'session-1'));
  });

  it('signs with a random other secret with --invalid, and needs no secret for it', async () => {
    const run = await cli(['token', '--invalid']);
    expect(run.code).toBe(0);
    expect(verifyApproovToken(run.stdout.trim(), keyring, Date.now() / 1000)).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
  });

  it('never prints the secret', async () => {
    const run = await cli(['token', '--secret', SECRET, '--bind', 'x']);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('explains a missing secret', async () => {
    expectUsageError(
      await cli(['token']),
      /give --secret <base64> or set APPROOV_BASE64_SECRET/,
      'nestjs-approov token',
    );
  });

  it.each([
    ['a short secret', Buffer.alloc(16, 1).toString('base64'), /--secret decodes to 16 bytes/],
    [
      'a secret that is not base64',
      'not-a-secret!',
      /--secret is not canonical base64 or base64url/,
    ],
    [
      'a secret with a space',
      `${SECRET.slice(0, 40)} ${SECRET.slice(40)}`,
      /--secret contains whitespace/,
    ],
    [
      'the quickstart placeholder',
      'approov_base64_secret_here',
      /--secret is still the quickstart placeholder/,
    ],
  ])('refuses %s without echoing it', async (_, secret, message) => {
    const run = await cli(['token', '--secret', secret]);
    expectUsageError(run, message, 'nestjs-approov token');
    expect(run.stderr).not.toContain(secret);
  });

  it('names the environment variable when its secret is bad', async () => {
    expectUsageError(
      await cli(['token'], { APPROOV_BASE64_SECRET: 'abc' }),
      /APPROOV_BASE64_SECRET/,
      'nestjs-approov token',
    );
  });

  it.each([
    [['--exp', 'soon'], /--exp must be a whole number of seconds/],
    [['--exp', '1.5'], /--exp must be a whole number of seconds/],
    [['--exp', '-60'], /--exp=-XYZ/],
    [['--exp', '60', '--no-exp'], /--exp and --no-exp exclude each other/],
    [['--claim', 'novalue'], /--claim needs <name>=<value>/],
    [['--claim', '=x'], /--claim needs <name>=<value>/],
    [['--bind'], /argument missing/],
    [['--unknown'], /Unknown option '--unknown'/],
  ])('refuses %j with a clear message', async (args, message) => {
    expectUsageError(
      await cli(['token', '--secret', SECRET, ...args]),
      message,
      'nestjs-approov token',
    );
  });
});

describe('nestjs-approov check', () => {
  it('prints the claims and "valid" for a valid token, and exits 0', async () => {
    const token = createApproovToken({ secret: SECRET, claims: { did: 'device-7' } });
    const run = await cli(['check', '--secret', SECRET, token]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('"did": "device-7"');
    expect(run.stdout).toMatch(/^expires: \d{4}-\d\d-\d\dT.*\(in \d+ s\)$/m);
    expect(run.stdout).toMatch(/^verdict: valid$/m);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it.each([
    ['an expired token', createApproovToken({ secret: SECRET, expiresIn: -60 }), 'token_expired'],
    [
      'a token of another secret',
      createApproovToken({ secret: createApproovSecret() }),
      'token_signature_invalid',
    ],
    [
      'a token without exp',
      createApproovToken({ secret: SECRET, claims: { exp: undefined } }),
      'token_expiration_missing',
    ],
    ['an SDK status string', 'NO_NETWORK', 'token_status'],
    [
      'an HS512 token',
      createApproovToken({ secret: SECRET, joseHeader: { alg: 'HS512' } }),
      'token_algorithm_not_allowed',
    ],
  ])('rejects %s with its failure code and exit code 1', async (_, token, code) => {
    const run = await cli(['check', '--secret', SECRET, token]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^verdict: rejected \\(${code}\\)$`, 'm'));
  });

  it('marks the claims of a rejected token as not trusted', async () => {
    const run = await cli([
      'check',
      '--secret',
      SECRET,
      createApproovToken({ secret: createApproovSecret(), claims: { did: 'x' } }),
    ]);
    expect(run.stdout).toMatch(/^claims \(not trusted: the token is rejected\): \{/m);
  });

  it('takes the secret from APPROOV_BASE64_SECRET', async () => {
    const run = await cli(['check', createApproovToken({ secret: SECRET })], {
      APPROOV_BASE64_SECRET: SECRET,
    });
    expect(run.code).toBe(0);
  });

  it('points at --bind when a bound token is checked without it', async () => {
    const run = await cli([
      'check',
      '--secret',
      SECRET,
      createApproovToken({ secret: SECRET, bind: 'v' }),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('give --bind <value> to check it too');
  });

  it('rejects a token without pay when --bind is given', async () => {
    const run = await cli([
      'check',
      '--secret',
      SECRET,
      createApproovToken({ secret: SECRET }),
      '--bind',
      'a',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^verdict: rejected \(binding_claim_missing\)$/m);
  });

  it.each([
    [[], /give the token to check/],
    [['one', 'two'], /give exactly one token/],
    [['--bogus', 'x'], /Unknown option '--bogus'/],
  ])('refuses %j with a clear message', async (args, message) => {
    expectUsageError(
      await cli(['check', '--secret', SECRET, ...args]),
      message,
      'nestjs-approov check',
    );
  });

  it('explains a missing secret', async () => {
    expectUsageError(
      await cli(['check', 'x.y.z']),
      /give --secret <base64> or set APPROOV_BASE64_SECRET/,
      'nestjs-approov check',
    );
  });
});

describe('token --bind and check --bind together', () => {
  let token: string;
  beforeAll(async () => {
    token = (await cli(['token', '--secret', SECRET, '--bind', 'a', '--bind', 'b'])).stdout.trim();
  });

  it('passes with the same values in the same order', async () => {
    const run = await cli(['check', '--secret', SECRET, token, '--bind', 'a', '--bind', 'b']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^verdict: valid, bound to the 2 given value\(s\)$/m);
  });

  it('passes with the concatenation given as one value, as the binding rule says', async () => {
    expect((await cli(['check', '--secret', SECRET, token, '--bind', 'ab'])).code).toBe(0);
  });

  it.each([
    [['b', 'a'], 'the values in the other order'],
    [['a'], 'the first value only'],
    [['a', 'c'], 'another second value'],
    [['a', 'b', 'c'], 'an extra value'],
  ])('fails with %j (%s)', async (values) => {
    const run = await cli([
      'check',
      '--secret',
      SECRET,
      token,
      ...values.flatMap((value) => ['--bind', value]),
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^verdict: rejected \(binding_mismatch\)$/m);
  });
});
