import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApproovVerifier } from '../../src/core/token/verifier.js';
import { resolveApproovConfig } from '../../src/core/approov-config.js';
import { runCli, type CliRun } from '../support/cli.js';

// `nestjs-approov keyset` and `token --alg`, spawned from the build, checked by the module's own keyset path.

function cli(args: string[], cwd: string): Promise<CliRun> {
  return runCli(args, { cwd });
}

/** Verifies `token` as the module would, with the JWKS file served on loopback as `jwksUri`. */
async function verifyWithJwksFile(path: string, token: string) {
  const server = createServer((_request, response) => response.end(readFileSync(path)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = resolveApproovConfig(
    {
      jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
      algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
    },
    {},
  );
  try {
    expect(await config.keyset!.start()).toBe(true);
    return new ApproovVerifier(config.verifier).verifyToken(token);
  } finally {
    config.keyset!.close();
    server.close();
  }
}

describe('nestjs-approov keyset and token --alg', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'approov-keyset-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['ES256', 'RS256', 'PS256', 'EdDSA'])(
    'makes a %s key pair whose tokens the module accepts',
    async (alg) => {
      const made = await cli(['keyset', '--alg', alg, '--kid', 'k1'], dir);
      expect(made.code).toBe(0);
      expect(made.stdout).toContain('kid: k1');
      expect(statSync(join(dir, 'approov-keyset-k1.pem')).mode & 0o777).toBe(0o600);
      const jwks = JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')) as {
        keys: Array<Record<string, unknown>>;
      };
      expect(jwks.keys).toEqual([expect.objectContaining({ kid: 'k1', alg, use: 'sig' })]);
      expect(jwks.keys[0]).not.toHaveProperty('d');

      const minted = await cli(
        [
          'token',
          '--alg',
          alg,
          '--key',
          'approov-keyset-k1.pem',
          '--kid',
          'k1',
          '--claim',
          'did=d1',
        ],
        dir,
      );
      expect(minted.code).toBe(0);
      expect(await verifyWithJwksFile(join(dir, 'jwks.json'), minted.stdout.trim())).toMatchObject({
        ok: true,
        claims: { did: 'd1' },
      });

      const invalid = await cli(
        ['token', '--alg', alg, '--key', 'approov-keyset-k1.pem', '--kid', 'k1', '--invalid'],
        dir,
      );
      expect(await verifyWithJwksFile(join(dir, 'jwks.json'), invalid.stdout.trim())).toEqual({
        ok: false,
        code: 'token_signature_invalid',
      });
    },
  );

  it('adds a second key to an existing JWKS, with the RFC 7638 thumbprint as default kid, and signs with it', async () => {
    await cli(['keyset', '--kid', 'old'], dir);
    const made = await cli(['keyset', '--alg', 'RS256'], dir);
    const kid = /kid: (\S+)/.exec(made.stdout)![1]!;
    expect(kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const jwks = JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')) as {
      keys: Array<{ kid: string }>;
    };
    expect(jwks.keys.map((key) => key.kid)).toEqual(['old', kid]);
    const minted = await cli(
      ['token', '--alg', 'RS256', '--key', `approov-keyset-${kid}.pem`],
      dir,
    );
    expect(await verifyWithJwksFile(join(dir, 'jwks.json'), minted.stdout.trim())).toMatchObject({
      ok: true,
    });
  });

  it.each([
    [['keyset', '--alg', 'HS256'], /--alg must be one of/],
    [['token', '--alg', 'ES256'], /needs --key/],
    [['token', '--alg', 'ES256', '--key', 'k.pem', '--secret', 'abc'], /--secret signs HS256 only/],
    [['token', '--key', 'k.pem'], /give --alg/],
    [['token', '--alg', 'ES256', '--key', 'missing.pem'], /not a readable private key/],
  ])('refuses %p with a usage error', async (args, message) => {
    const run = await cli(args, dir);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(message);
  });

  it('refuses to overwrite a private key, and a key with an RSA key file signing ES256', async () => {
    await cli(['keyset', '--alg', 'RS256', '--kid', 'r'], dir);
    expect((await cli(['keyset', '--kid', 'r'], dir)).stderr).toMatch(/exists/);
    expect(
      (await cli(['token', '--alg', 'ES256', '--key', 'approov-keyset-r.pem'], dir)).stderr,
    ).toMatch(/rsa key: it cannot sign ES256/);
  });
});
