// `nestjs-approov sign`: the headers of an Approov installation message signature, for curl and demos.
import { readFileSync } from 'node:fs';
import {
  createApproovRequestSignature,
  createInstallationKeyPair,
  installationPublicKey,
  type SignApproovRequestOptions,
} from '../testing/sign-request.js';
import { isHeaderName } from '../core/http/request-headers.js';
import {
  EXIT_OK,
  parseCommandArgs,
  parseSeconds,
  UsageError,
  type Command,
  type Env,
  type Output,
} from './io.js';

export const SIGN_HELP = `Usage: nestjs-approov sign --key <key> --url <url> --token <token> [--method <method>]
                           [--body <text> | --body-file <path>] [--header "<name>: <value>" ...]
                           [--label install|account] [--sdk android|ios]
       nestjs-approov sign --key <key> --print-ipk
       nestjs-approov sign --new-key

Signs a request as an Approov SDK with message signing does (RFC 9421: label "install",
ecdsa-p256-sha256, or label "account", hmac-sha256) and prints the Signature-Input, Signature
and, with a body, Content-Digest headers, one per line, ready for curl -H.

Options:
  --label <label>          install (default): --key is the installation private key, PEM or
                           PKCS#8 / SEC1 DER in base64 (default: $APPROOV_INSTALL_PRIVATE_KEY);
                           account: --key is the account message-signing key, base64
                           (default: $APPROOV_MESSAGE_SIGNING_KEY)
  --key=<key>              the key for the label (write --key="$KEY" for a PEM)
  --key-file <path>        read the key from a file instead
  --url <url>              the absolute URL the request goes to (covered as @target-uri)
  --token <token>          the Approov token the request carries; its ipk claim must be this key's
  --method <method>        default GET
  --body <text>            the exact body; a sha-256 Content-Digest is made and covered
  --body-file <path>       read the body from a file instead
  --header "<name>: <v>"   a header the request sends; authorization, content-length and
                           content-type are covered when given; repeat for several
  --component <name>       cover exactly these components, in order (repeat); default as the
                           Android SDK: @method @target-uri approov-token, then the headers above
  --created <seconds>      created, seconds since the epoch (default now)
  --expires <seconds>      expires (default created + 15); --no-expires leaves it out
  --sdk <sdk>              cover what that SDK covers by default: android (3.5.8 and later:
                           approov-traceid / approov-status when sent, content-digest on
                           bodies) or ios (no content-digest); both sf-binary
  --string-form            send the signature as an sf-string (Android before 3.5.8)
  --digest <algorithm>     sha-256 (default) or sha-512
  --show-base              also print the signature base (it contains the token)
  --print-ipk              print the ipk claim value (base64 SPKI) for --key, and stop
  --new-key                print a new P-256 private key (PEM) and its ipk, and stop

Example:
  KEY="$(nestjs-approov sign --new-key | sed -n '/BEGIN/,/END/p')"
  TOKEN="$(nestjs-approov token --claim ipk="$(nestjs-approov sign --key="$KEY" --print-ipk)")"
  nestjs-approov sign --key="$KEY" --token "$TOKEN" --url http://127.0.0.1:8080/message-signing`;

export const signCommand: Command = {
  name: 'sign',
  help: SIGN_HELP,
  run(args, env, io) {
    try {
      return sign(args, env, io);
    } catch (error) {
      // The signer answers a bad key or URL with a TypeError: the user's input, not a bug.
      throw error instanceof TypeError ? new UsageError(error.message) : error;
    }
  },
};

function sign(args: readonly string[], env: Env, io: Output): number {
  const { values } = parseCommandArgs(args, {
    key: { type: 'string' },
    'key-file': { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    method: { type: 'string' },
    body: { type: 'string' },
    'body-file': { type: 'string' },
    header: { type: 'string', multiple: true },
    component: { type: 'string', multiple: true },
    created: { type: 'string' },
    expires: { type: 'string' },
    'no-expires': { type: 'boolean' },
    'string-form': { type: 'boolean' },
    digest: { type: 'string' },
    'show-base': { type: 'boolean' },
    'print-ipk': { type: 'boolean' },
    'new-key': { type: 'boolean' },
    label: { type: 'string' },
    sdk: { type: 'string' },
  });
  if (values.help) {
    io.out(SIGN_HELP);
    return EXIT_OK;
  }
  if (values['new-key']) {
    const pair = createInstallationKeyPair();
    io.out(pair.privateKey.trimEnd());
    io.out(`ipk: ${pair.ipk}`);
    return EXIT_OK;
  }

  const label = values.label ?? 'install';
  if (label !== 'install' && label !== 'account')
    throw new UsageError('--label must be install or account.');
  if (values.sdk !== undefined && values.sdk !== 'android' && values.sdk !== 'ios') {
    throw new UsageError('--sdk must be android or ios.');
  }
  const key = readKey(values.key, values['key-file'], env, label);
  if (values['print-ipk']) {
    if (label === 'account')
      throw new UsageError('--print-ipk needs an installation key (--label install).');
    io.out(installationPublicKey(key));
    return EXIT_OK;
  }
  if (values.url === undefined) throw new UsageError('give --url <absolute url>.');
  if (values.token === undefined) throw new UsageError('give --token <token>.');
  if (values.body !== undefined && values['body-file'] !== undefined) {
    throw new UsageError('--body and --body-file exclude each other.');
  }
  if (values.expires !== undefined && values['no-expires']) {
    throw new UsageError('--expires and --no-expires exclude each other.');
  }
  const digest = values.digest ?? 'sha-256';
  if (digest !== 'sha-256' && digest !== 'sha-512')
    throw new UsageError('--digest must be sha-256 or sha-512.');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError(`--url must be an absolute URL (got "${values.url}").`);
  }

  const options: SignApproovRequestOptions = {
    label,
    ...(label === 'account' ? { accountKey: key } : { privateKey: key }),
    method: values.method ?? 'GET',
    url,
    token: values.token,
    headers: parseHeaders(values.header ?? []),
    digestAlgorithm: digest,
  };
  if (values.sdk !== undefined) options.sdk = values.sdk as 'android' | 'ios';
  // The SDK preset picks the form; --string-form wins; neither: sf-binary.
  if (values['string-form']) options.signatureForm = 'string';
  else if (values.sdk === undefined) options.signatureForm = 'binary';
  const body = values['body-file'] !== undefined ? readFileSync(values['body-file']) : values.body;
  if (body !== undefined) options.body = body;
  if (values.component !== undefined) options.components = values.component;
  if (values.created !== undefined) options.created = parseSeconds('--created', values.created);
  if (values.expires !== undefined) options.expires = parseSeconds('--expires', values.expires);
  if (values['no-expires']) options.expires = null;

  const signed = createApproovRequestSignature(options);
  for (const [name, value] of Object.entries(signed.headers)) io.out(`${name}: ${value}`);
  if (values['show-base']) {
    io.out('');
    io.out('Signature base:');
    io.out(signed.signatureBase);
  }
  return EXIT_OK;
}

function readKey(
  key: string | undefined,
  keyFile: string | undefined,
  env: Env,
  label: 'install' | 'account',
): string | Buffer {
  if (key !== undefined && keyFile !== undefined)
    throw new UsageError('--key and --key-file exclude each other.');
  if (keyFile !== undefined) {
    const bytes = readFileSync(keyFile);
    const text = bytes.toString('latin1');
    // A PEM or base64 text file, else raw DER bytes.
    return /^[\t\n\r\x20-\x7e]*$/.test(text) ? text.trim() : bytes;
  }
  const variable =
    label === 'account' ? 'APPROOV_MESSAGE_SIGNING_KEY' : 'APPROOV_INSTALL_PRIVATE_KEY';
  const value = key ?? env[variable];
  if (value === undefined || value.length === 0) {
    const what = label === 'account' ? 'the account message-signing key' : 'the installation key';
    throw new UsageError(`give ${what}: --key, --key-file or ${variable}.`);
  }
  return value;
}

function parseHeaders(entries: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon).trim();
    if (colon <= 0 || !isHeaderName(name)) {
      throw new UsageError(`--header needs "<name>: <value>" (got "${entry}").`);
    }
    headers[name.toLowerCase()] = entry.slice(colon + 1).trim();
  }
  return headers;
}
