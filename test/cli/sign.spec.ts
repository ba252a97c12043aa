import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenKeyring } from '../../src/core/keys/keyring.js';
import { parseApproovSecrets } from '../../src/core/keys/secret.js';
import { verifyApproovToken } from '../../src/core/token/jws.js';
import { runCommand } from '../../src/cli/io.js';
import { signCommand } from '../../src/cli/sign.js';
import { MessageSignatureVerifier } from '../../src/core/message-signing/verify.js';
import { resolveMessageSigningOptions } from '../../src/core/message-signing/options.js';
import {
  messageSigningFixture as fixture,
  VECTOR_CREATED,
} from '../support/message-signing-vectors.js';
import { resolveAccountSigningKeys } from '../../src/core/approov-config.js';
import { ACCOUNT_KEY } from '../support/client-profiles.js';

/** A verified signature, with the identity the replay check remembers it by. */
const VERIFIED = expect.objectContaining({
  ok: true,
  identity: {
    digest: expect.stringMatching(/^[\w-]{43}$/),
    passableUntilMs: expect.any(Number),
    clockToleranceMs: expect.any(Number),
  },
});

function run(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCommand(signCommand, args, env, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  }) as number; // sign never fetches: its exit code comes back at once
  return { code, out, err };
}

/** Turns "Name: value" output lines into rawHeaders. */
function headerLines(lines: string[]): string[] {
  return lines.flatMap((line) => {
    const colon = line.indexOf(': ');
    return [line.slice(0, colon), line.slice(colon + 2)];
  });
}

const now = VECTOR_CREATED + 3;
const claims = (() => {
  const result = verifyApproovToken(
    fixture.ipk_token,
    TokenKeyring.ofSecrets(
      parseApproovSecrets({ value: fixture.token_secret_base64, setting: 't' }),
    ),
    now,
  );
  if (!result.ok) throw new Error(result.code);
  return result.claims;
})();

function verifyPrinted(
  lines: string[],
  method: string,
  target: string,
  host: string,
  body?: string,
  options = resolveMessageSigningOptions('Approov-Token', 0),
) {
  return new MessageSignatureVerifier(resolveAccountSigningKeys(ACCOUNT_KEY)).verify(
    {
      method,
      target,
      encrypted: false,
      rawHeaders: ['Host', host, 'Approov-Token', fixture.ipk_token, ...headerLines(lines)],
      rawBody: body === undefined ? undefined : Buffer.from(body),
    },
    claims,
    options,
    now,
  );
}

describe('nestjs-approov sign', () => {
  const key = fixture.test_private_key_pkcs8_or_sec1_der_base64;

  it('prints the ipk of a key, as the token carries it', () => {
    expect(run(['--key', key, '--print-ipk'])).toEqual({
      code: 0,
      out: [fixture.ipk_spki_der_base64],
      err: [],
    });
  });

  it('prints headers that the verifier accepts for a GET', () => {
    const { code, out } = run([
      '--key',
      key,
      '--token',
      fixture.ipk_token,
      '--url',
      'http://api.example.com/shapes?x=1',
      '--created',
      String(VECTOR_CREATED),
    ]);
    expect(code).toBe(0);
    expect(out.map((line) => line.split(':')[0])).toEqual(['Signature-Input', 'Signature']);
    expect(verifyPrinted(out, 'GET', '/shapes?x=1', 'api.example.com')).toEqual(VERIFIED);
    expect(verifyPrinted(out, 'GET', '/shapes?x=2', 'api.example.com')).toEqual({
      ok: false,
      code: 'install_signature_invalid',
    });
  });

  it('prints a Content-Digest for a body read from a file, and the Android string form on request', () => {
    const dir = mkdtempSync(join(tmpdir(), 'approov-sign-'));
    try {
      writeFileSync(join(dir, 'body.json'), '{"a":1}');
      writeFileSync(join(dir, 'key.txt'), `${key}\n`);
      const { code, out } = run([
        '--key-file',
        join(dir, 'key.txt'),
        '--token',
        fixture.ipk_token,
        '--method',
        'POST',
        '--url',
        'http://api.example.com/orders',
        '--body-file',
        join(dir, 'body.json'),
        '--header',
        'Content-Type: application/json',
        '--string-form',
        '--created',
        String(VECTOR_CREATED),
      ]);
      expect(code).toBe(0);
      expect(out.find((line) => line.startsWith('Signature: '))).toMatch(
        /^Signature: install="[A-Za-z0-9+/]+={0,2}"$/,
      );
      const withType = [...out, 'Content-Type: application/json'];
      expect(verifyPrinted(withType, 'POST', '/orders', 'api.example.com', '{"a":1}')).toEqual(
        VERIFIED,
      );
      expect(verifyPrinted(withType, 'POST', '/orders', 'api.example.com', '{"a":2}')).toEqual({
        ok: false,
        code: 'content_digest_mismatch',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('signs with the account key under --label account, which the server verifies with hmac-sha256', () => {
    const args = [
      '--token',
      fixture.ipk_token,
      '--url',
      'http://api.example.com/a',
      '--created',
      String(VECTOR_CREATED),
    ];
    const { code, out } = run(['--label', 'account', '--key', ACCOUNT_KEY, ...args]);
    expect(code).toBe(0);
    expect(out.find((line) => line.startsWith('Signature-Input: '))).toMatch(
      /^Signature-Input: account=\(.*\);alg="hmac-sha256";/,
    );
    const accountOnly = resolveMessageSigningOptions('Approov-Token', 0, { accept: ['account'] });
    expect(
      verifyPrinted(out, 'GET', '/a', 'api.example.com', undefined, accountOnly),
    ).toMatchObject({ ok: true, signatures: [{ label: 'account' }] });
    const other = run([
      '--label',
      'account',
      '--key',
      Buffer.alloc(32, 1).toString('base64'),
      ...args,
    ]).out;
    expect(verifyPrinted(other, 'GET', '/a', 'api.example.com', undefined, accountOnly)).toEqual({
      ok: false,
      code: 'account_signature_invalid',
    });
    expect(
      run(['--label', 'account', ...args], { APPROOV_MESSAGE_SIGNING_KEY: ACCOUNT_KEY }).out,
    ).toHaveLength(2);
  });

  it.each<[string, RegExp, boolean]>([
    ['android', /^Signature: install=:[A-Za-z0-9+/]+={0,2}:$/, true],
    ['ios', /^Signature: install=:[A-Za-z0-9+/]+={0,2}:$/, false],
  ])('--sdk %s: signs that SDK default set and form', (sdk, form, coversDigest) => {
    const { code, out } = run([
      '--key',
      key,
      '--token',
      fixture.ipk_token,
      '--method',
      'POST',
      '--url',
      'http://api.example.com/o',
      '--body',
      '{"a":1}',
      '--header',
      'Approov-Status: success',
      '--sdk',
      sdk,
      '--created',
      String(VECTOR_CREATED),
    ]);
    expect(code).toBe(0);
    expect(out.find((line) => line.startsWith('Signature: '))).toMatch(form);
    const input = out.find((line) => line.startsWith('Signature-Input: '))!;
    expect(input.includes('"content-digest"')).toBe(coversDigest);
    expect(input.includes('"approov-status"')).toBe(sdk === 'android');
    expect(
      verifyPrinted(
        [...out, 'Approov-Status: success'],
        'POST',
        '/o',
        'api.example.com',
        '{"a":1}',
      ),
    ).toMatchObject({ ok: true });
  });

  it('reads the key from APPROOV_INSTALL_PRIVATE_KEY', () => {
    expect(run(['--print-ipk'], { APPROOV_INSTALL_PRIVATE_KEY: key }).out).toEqual([
      fixture.ipk_spki_der_base64,
    ]);
  });

  it('makes a new key whose printed ipk matches it', () => {
    const { code, out } = run(['--new-key']);
    expect(code).toBe(0);
    const pem = out.slice(0, -1).join('\n');
    expect(out.at(-1)).toBe(`ipk: ${run([`--key=${pem}`, '--print-ipk']).out[0]}`);
  });

  it.each([
    ['no key', ['--print-ipk']],
    ['a key that is not P-256', ['--key', 'AAAA', '--print-ipk']],
    ['no url', ['--key', key, '--token', 't']],
    ['no token', ['--key', key, '--url', 'http://a/']],
    ['a relative url', ['--key', key, '--token', 't', '--url', '/a']],
    ['a bad header', ['--key', key, '--token', 't', '--url', 'http://a/', '--header', 'nocolon']],
    ['an unknown option', ['--key', key, '--frobnicate']],
    [
      'a fractional --created',
      ['--key', key, '--token', 't', '--url', 'http://a/', '--created', '1.5'],
    ],
    ['an unknown label', ['--key', key, '--label', 'sig1', '--token', 't', '--url', 'http://a/']],
    ['an unknown sdk', ['--key', key, '--sdk', 'windows', '--token', 't', '--url', 'http://a/']],
    ['--print-ipk for an account key', ['--label', 'account', '--key', 'AAAA', '--print-ipk']],
    [
      '--expires with --no-expires',
      ['--key', key, '--token', 't', '--url', 'http://a/', '--expires', '1', '--no-expires'],
    ],
  ])('exits 2 with one line of usage on %s', (_case, args) => {
    const { code, out, err } = run(args);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[1]).toBe('Run "nestjs-approov sign --help" for usage.');
  });
});
