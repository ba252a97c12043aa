import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import {
  combineApproovSignatures,
  createApproovToken,
  signApproovRequest,
  type SignApproovRequestOptions,
} from 'nestjs-approov/testing';
import type { ApproovMessageSigningOptions } from 'nestjs-approov';
import { createContentDigest } from '../../src/core/message-signing/content-digest.js';
import { messageSigningFixture } from './message-signing-vectors.js';

/** The routes of the profile apps, by the options they declare. */
export type ProfileRoute = 'default' | 'strict' | 'account';
export const PROFILE_ROUTES: Readonly<Record<ProfileRoute, ApproovMessageSigningOptions>> = {
  default: {},
  strict: { requireContentDigest: true },
  account: { accept: ['account'] },
};

export interface ClientProfile {
  name: string;
  sdk: 'android' | 'ios';
  /** The Android SDK version, when its form differs from the latest (sf-string before 3.5.8). */
  sdkVersion?: string;
  labels: Array<'install' | 'account'>;
  method: 'GET' | 'POST';
  query: string;
  headers?: Array<[string, string]>;
  body?: string;
  contentDigest?: boolean;
  signatureLines?: 'one' | 'per-label';
  digestLines?: 'split';
  token?: 'absent';
  createdOffsetSec?: number;
  host?: 'upper-case' | 'default-port';
  verdicts: Record<ProfileRoute, string>;
}

interface TamperedEntry {
  name: string;
  from: string;
  tamper: string;
  verdicts: Record<ProfileRoute, string>;
}

interface ClientProfilesFixture {
  account_key_base64: string;
  wrong_account_key_base64: string;
  profiles: ClientProfile[];
  tampered: TamperedEntry[];
}

export const clientProfilesFixture = JSON.parse(
  readFileSync(new URL('../fixtures/approov-client-profiles.json', import.meta.url), 'utf8'),
) as ClientProfilesFixture;

export const ACCOUNT_KEY = clientProfilesFixture.account_key_base64;
export const TOKEN_SECRET = messageSigningFixture.token_secret_base64;

/** One corpus entry: an SDK default, or one of them tampered with. */
export interface ProfileCase {
  name: string;
  profile: ClientProfile;
  tamper?: string;
  verdicts: Record<ProfileRoute, string>;
}

export function profileCases(): ProfileCase[] {
  const byName = new Map(clientProfilesFixture.profiles.map((profile) => [profile.name, profile]));
  return [
    ...clientProfilesFixture.profiles.map((profile) => ({
      name: profile.name,
      profile,
      verdicts: profile.verdicts,
    })),
    ...clientProfilesFixture.tampered.map((entry) => {
      const profile = byName.get(entry.from);
      if (profile === undefined)
        throw new Error(`tampered entry "${entry.name}" names no profile "${entry.from}"`);
      return {
        name: `${entry.name} (${entry.from})`,
        profile,
        tamper: entry.tamper,
        verdicts: entry.verdicts,
      };
    }),
  ];
}

/** A request as it goes on the wire: header lines in order (Host first), body text. */
export interface ProfileRequest {
  method: string;
  path: string;
  lines: Array<[string, string]>;
  body?: string;
}

/**
 * Builds the request a profile's SDK would send to `route` of a server reached at `authority`
 * (host:port), signed at `nowSec`, then applies the case's tamper.
 */
export function buildProfileRequest(
  entry: ProfileCase,
  route: ProfileRoute,
  authority: string,
  nowSec: number,
  routePath = `/profiles/${route}`,
): ProfileRequest {
  const { profile, tamper } = entry;
  const port = authority.slice(authority.lastIndexOf(':') + 1);
  const host =
    profile.host === 'upper-case'
      ? `API.Example.COM:${port}`
      : profile.host === 'default-port'
        ? 'api.example.com:80'
        : authority;
  const path = `${routePath}${profile.query}`;
  // A device id per request, as real tokens carry one: no two corpus requests are the same signed request.
  const token = createApproovToken({
    secret: TOKEN_SECRET,
    now: nowSec,
    claims: { ipk: messageSigningFixture.ipk_spki_der_base64, did: randomUUID() },
  });

  const headers: Array<[string, string]> = [...(profile.headers ?? [])];
  if (profile.body !== undefined)
    headers.push(['Content-Length', String(Buffer.byteLength(profile.body))]);
  if (profile.body !== undefined && profile.digestLines === 'split') {
    headers.push(
      ['Content-Digest', createContentDigest(profile.body, 'sha-256')],
      ['Content-Digest', createContentDigest(profile.body, 'sha-512')],
    );
  }
  const signedFields = Object.fromEntries(joinLines(headers));
  const created =
    nowSec +
    (tamper === 'future-30' ? 30 : tamper === 'past-90' ? -90 : (profile.createdOffsetSec ?? 0));
  const signed = profile.labels.map((label) => {
    const options: SignApproovRequestOptions = {
      label,
      sdk: profile.sdk,
      ...(profile.sdkVersion !== undefined ? { sdkVersion: profile.sdkVersion } : {}),
      method: profile.method,
      url: `http://${host}${path}`,
      authority: host,
      token,
      body: profile.body,
      headers: signedFields,
      created,
      ...(profile.contentDigest === false ? { contentDigest: false } : {}),
      ...(tamper === 'no-target-uri' ? { components: ['@method', 'approov-token'] } : {}),
    };
    if (label === 'install')
      options.privateKey = messageSigningFixture.test_private_key_pkcs8_or_sec1_der_base64;
    else
      options.accountKey =
        tamper === 'wrong-account-key'
          ? clientProfilesFixture.wrong_account_key_base64
          : ACCOUNT_KEY;
    return signApproovRequest(options);
  });

  const lines: Array<[string, string]> = [
    ['Host', tamper === 'host' ? `other.example.com:${port}` : host],
  ];
  if (profile.token !== 'absent') lines.push(['Approov-Token', token]);
  if (tamper === 'second-token') lines.push(['Approov-Token', token]);
  for (const [name, value] of headers) {
    lines.push([
      name,
      tamper === 'status' && name.toLowerCase() === 'approov-status' ? 'rejected' : value,
    ]);
  }
  if (signed.length > 0) {
    const groups =
      profile.signatureLines === 'per-label' ? signed : [combineApproovSignatures(...signed)];
    for (const group of groups) {
      if (tamper !== 'drop-input') lines.push(['Signature-Input', group['Signature-Input']]);
      lines.push(['Signature', tamperSignature(group.Signature, tamper)]);
      if (tamper === 'repeat-label')
        lines.push(['Signature-Input', group['Signature-Input']], ['Signature', group.Signature]);
    }
    const digest = signed[0]!['Content-Digest'];
    if (digest !== undefined && profile.digestLines !== 'split')
      lines.push(['Content-Digest', digest]);
  }
  // A bodiless POST says so, rather than let the client pick chunked framing.
  if (profile.body === undefined && (profile.method === 'POST' || tamper === 'method'))
    lines.push(['Content-Length', '0']);

  let body = profile.body;
  if (tamper === 'body' && body !== undefined) body = body.replace('42', '43');
  let sentPath = path;
  if (tamper === 'query') sentPath = `${path}${path.includes('?') ? '&' : '?'}tampered=1`;
  return { method: tamper === 'method' ? 'POST' : profile.method, path: sentPath, lines, body };
}

/** Repeated names joined with ", ", as the signer would see one field. */
function joinLines(lines: ReadonlyArray<[string, string]>): Map<string, string> {
  const joined = new Map<string, string>();
  for (const [name, value] of lines) {
    const lower = name.toLowerCase();
    joined.set(lower, joined.has(lower) ? `${joined.get(lower)}, ${value}` : value);
  }
  return joined;
}

function tamperSignature(signature: string, tamper: string | undefined): string {
  if (tamper === 'unpadded') return signature.replace(/="([A-Za-z0-9+/]+)=*"/, '="$1"');
  if (tamper === 'pad-bits') {
    // Flip the lowest bit of the last data character: the same bytes to a lenient decoder, not canonical.
    return signature.replace(
      /([A-Za-z0-9+/])(=+):(?=$|,)/,
      (_m, last: string, pad: string) => `${flipLowBit(last)}${pad}:`,
    );
  }
  return signature;
}

function flipLowBit(char: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  return alphabet[alphabet.indexOf(char) ^ 1]!;
}

export interface ProfileReply {
  status: number;
  body: string;
}

/** Sends exactly these header lines, in order (no Host of Node's own), to 127.0.0.1:port; 5 s cap. */
export function sendLines(
  port: number,
  method: string,
  path: string,
  lines: ReadonlyArray<readonly [string, string]>,
  body?: string,
): Promise<ProfileReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        timeout: 5000,
        headers: lines.flat() as unknown as Record<string, string>,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}
