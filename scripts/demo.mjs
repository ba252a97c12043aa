// `npm run demo`: starts the built sample app on a fresh DEMO secret, plays a tour of accepted and
// rejected requests (like Approov's Postman collection), prints the results, then keeps serving
// with ready-to-paste curl commands until Ctrl-C. `--once` stops after the tour: exit 0 when every
// case matched. Plain ESM on the built package (npm run build && npm run build:sample first).
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  approovBindingHash,
  combineApproovSignatures,
  createApproovInstallationKey,
  createApproovKeyPair,
  createApproovKeysetToken,
  createApproovSecret,
  createApproovToken,
  signApproovRequest,
  startApproovJwksServer,
} from 'nestjs-approov/testing';
import WebSocket from 'ws';
import { assertSampleAppBuilt, startSampleApp } from './sample-app.mjs';

const REQUEST_TIMEOUT_MS = 5_000;
const LOG_WAIT_MS = 2_000;

const { values: flags } = parseArgs({
  options: {
    once: { type: 'boolean' },
    platform: { type: 'string', default: 'express' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log('Usage: npm run demo [-- --once] [-- --platform express|fastify]');
  process.exit(0);
}
try {
  assertSampleAppBuilt();
} catch (error) {
  console.error(`demo: ${error.message}`);
  process.exit(1);
}

// A throwaway secret for this run only; a real API uses the account's (approov secret -get base64).
const DEMO_SECRET = createApproovSecret();
const USER_AUTH = 'Bearer demo-user-access-token';
const SESSION_ID = 'demo-session-42';
// The account message-signing key for `account` signatures, and one app installation's key pair.
const DEMO_MESSAGE_SIGNING_KEY = createApproovSecret(32);
const INSTALLATION = createApproovInstallationKey();

/** One request of the tour: what the client sends and what the API must answer. */
function tourCases() {
  const token = (options = {}) => createApproovToken({ secret: DEMO_SECRET, ...options });
  const otherSecret = createApproovSecret();
  return [
    { route: '/hello', name: 'unprotected route, no token', headers: {}, expect: 200 },
    {
      route: '/token-check',
      name: 'valid token',
      headers: { 'Approov-Token': token() },
      expect: 200,
    },
    {
      route: '/token-check',
      name: 'expired token',
      headers: { 'Approov-Token': token({ expiresIn: -60 }) },
      expect: 401,
    },
    {
      route: '/token-check',
      name: 'token signed with the wrong secret',
      headers: { 'Approov-Token': createApproovToken({ secret: otherSecret }) },
      expect: 401,
    },
    { route: '/token-check', name: 'missing token', headers: {}, expect: 401 },
    {
      route: '/token-check',
      name: 'token with no exp',
      headers: { 'Approov-Token': token({ claims: { exp: undefined } }) },
      expect: 401,
    },
    {
      route: '/token-check',
      name: 'SDK status string instead of a token',
      headers: { 'Approov-Token': 'NO_NETWORK' },
      expect: 401,
    },
    {
      route: '/token-check',
      name: 'alg "none", unsigned',
      headers: { 'Approov-Token': unsigned(token()) },
      expect: 401,
    },
    {
      route: '/token-binding',
      name: 'bound token, right Authorization',
      headers: { 'Approov-Token': token({ bind: USER_AUTH }), Authorization: USER_AUTH },
      expect: 200,
    },
    {
      route: '/token-binding',
      name: 'bound token, wrong Authorization',
      headers: {
        'Approov-Token': token({ bind: USER_AUTH }),
        Authorization: 'Bearer someone-else',
      },
      expect: 401,
    },
    {
      route: '/token-binding',
      name: 'bound token, no Authorization',
      headers: { 'Approov-Token': token({ bind: USER_AUTH }) },
      expect: 401,
    },
    {
      route: '/token-binding',
      name: 'valid token without pay claim',
      headers: { 'Approov-Token': token(), Authorization: USER_AUTH },
      expect: 401,
    },
    {
      route: '/token-double-binding',
      name: 'double-bound token, right values',
      headers: {
        'Approov-Token': token({ bind: [USER_AUTH, SESSION_ID] }),
        Authorization: USER_AUTH,
        SessionId: SESSION_ID,
      },
      expect: 200,
    },
    {
      route: '/token-double-binding',
      name: 'double-bound token, wrong order',
      headers: {
        'Approov-Token': token({ bind: [SESSION_ID, USER_AUTH] }),
        Authorization: USER_AUTH,
        SessionId: SESSION_ID,
      },
      expect: 401,
    },
    {
      route: '/token-double-binding',
      name: 'double-bound token, wrong SessionId',
      headers: {
        'Approov-Token': token({ bind: [USER_AUTH, SESSION_ID] }),
        Authorization: USER_AUTH,
        SessionId: 'another-session',
      },
      expect: 401,
    },
  ];
}

/** A captured signed request sent twice: the API serves it once and refuses the replay. */
function replayCases(url) {
  const installation = createApproovInstallationKey();
  const token = createApproovToken({ secret: DEMO_SECRET, claims: { ipk: installation.ipk } });
  const signature = signApproovRequest({
    privateKey: installation.privateKey,
    method: 'GET',
    url: `${url}/message-signing`,
    token,
  });
  const headers = { 'Approov-Token': token, ...signature };
  return [
    { route: '/message-signing', name: 'signed request', headers, expect: 200 },
    { route: '/message-signing', name: 'the same signed request, replayed', headers, expect: 401 },
  ];
}

/**
 * Message-signing rows: requests signed as the Android and iOS SDKs sign by default. Signed at
 * play time, since the signature covers the URL the app listens on.
 */
function messageSigningTourCases() {
  const JSON_BODY = '{"order":42}';
  const signed = (
    sdk,
    {
      labels = ['install'],
      method = 'GET',
      body,
      accountKey = DEMO_MESSAGE_SIGNING_KEY,
      tamper,
    } = {},
  ) => ({
    method,
    body,
    sign(url) {
      // A device id per row, as real tokens carry one: no two rows sign the same request.
      const token = createApproovToken({
        secret: DEMO_SECRET,
        claims: { ipk: INSTALLATION.ipk, did: randomUUID() },
      });
      const headers = { 'Approov-Token': token };
      if (sdk === 'android') headers['Approov-Status'] = 'success';
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const common = {
        sdk,
        method,
        url,
        token,
        body,
        headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
      };
      const signatures = labels.map((label) =>
        signApproovRequest({ ...common, label, privateKey: INSTALLATION.privateKey, accountKey }),
      );
      return {
        headers: { ...headers, ...combineApproovSignatures(...signatures) },
        body: tamper === 'body' ? body.replace('42', '43') : body,
      };
    },
  });
  return [
    {
      route: '/message-signing',
      name: 'iOS default GET (sf-binary)',
      ...signed('ios'),
      expect: 200,
    },
    {
      route: '/message-signing',
      name: 'iOS default POST, body not covered',
      ...signed('ios', { method: 'POST', body: JSON_BODY }),
      expect: 200,
    },
    {
      route: '/message-signing',
      name: 'Android POST, install + account, digest',
      ...signed('android', { labels: ['install', 'account'], method: 'POST', body: JSON_BODY }),
      expect: 200,
    },
    {
      route: '/message-signing',
      name: 'Android POST, body changed after signing',
      ...signed('android', { method: 'POST', body: JSON_BODY, tamper: 'body' }),
      expect: 401,
    },
    {
      route: '/message-signing/strict',
      name: 'Android POST, body covered',
      ...signed('android', { method: 'POST', body: JSON_BODY }),
      expect: 200,
    },
    {
      route: '/message-signing/strict',
      name: 'iOS POST, body not covered',
      ...signed('ios', { method: 'POST', body: JSON_BODY }),
      expect: 401,
    },
    {
      route: '/message-signing/account',
      name: 'Android GET, install + account',
      ...signed('android', { labels: ['install', 'account'] }),
      expect: 200,
    },
    {
      route: '/message-signing/account',
      name: 'install signature only',
      ...signed('android'),
      expect: 401,
    },
    {
      route: '/message-signing/account',
      name: 'account signed with another key',
      ...signed('android', { labels: ['account'], accountKey: createApproovSecret(32) }),
      expect: 401,
    },
  ];
}

/** The same token re-headed as alg "none" with an empty signature: the classic JWT downgrade. */
function unsigned(token) {
  const [, payload] = token.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  return `${header}.${payload}.`;
}

/** Starts the sample app on a free port; a line per reject, so the tour reads each reject's reason. */
function startDemoApp(
  platform,
  approovEnv = {
    APPROOV_BASE64_SECRET: DEMO_SECRET,
    APPROOV_MESSAGE_SIGNING_KEY: DEMO_MESSAGE_SIGNING_KEY,
  },
) {
  return startSampleApp({ platform, env: { ...approovEnv, APPROOV_REJECT_LOG: 'every' } });
}

// The keyset part: tokens signed with asymmetric keys that the demo publishes itself on loopback.
const KEYSET_ISSUER = 'https://demo.approov.example';
const KEYSET_AUDIENCE = 'demo-api';

/** A second sample app with APPROOV_JWKS_URI (no secret), on a JWKS this script serves. */
async function startKeysetPart(platform) {
  const es256 = createApproovKeyPair('ES256', 'demo-es256');
  const rs256 = createApproovKeyPair('RS256', 'demo-rs256');
  const jwks = await startApproovJwksServer(es256, rs256);
  const app = await startDemoApp(platform, {
    APPROOV_JWKS_URI: jwks.url,
    APPROOV_ISSUER: KEYSET_ISSUER,
    APPROOV_AUDIENCE: KEYSET_AUDIENCE,
  });
  return { app, jwks, es256, rs256 };
}

/** Keyset cases; `before` runs just before its request (the rotation publishes a new key). */
function keysetCases({ jwks, es256, rs256 }) {
  const claims = { iss: KEYSET_ISSUER, aud: KEYSET_AUDIENCE };
  const token = (key, options = {}) =>
    createApproovKeysetToken({ key, ...options, claims: { ...claims, ...options.claims } });
  const rotated = createApproovKeyPair('ES256', 'demo-es256-next');
  const stranger = createApproovKeyPair('ES256', 'demo-unknown');
  return [
    {
      route: '/token-check',
      name: 'keyset: ES256 token',
      headers: { 'Approov-Token': token(es256) },
      expect: 200,
    },
    {
      route: '/token-check',
      name: 'keyset: RS256 token',
      headers: { 'Approov-Token': token(rs256) },
      expect: 200,
    },
    {
      route: '/token-check',
      name: 'keyset: rotation, new key published',
      before: () => jwks.setKeys(es256, rs256, rotated),
      headers: { 'Approov-Token': token(rotated) },
      expect: 200,
    },
    {
      route: '/token-check',
      name: 'keyset: old key still published',
      headers: { 'Approov-Token': token(es256) },
      expect: 200,
    },
    {
      route: '/token-check',
      name: 'keyset: unknown kid',
      headers: { 'Approov-Token': token(stranger) },
      expect: 401,
    },
    {
      route: '/token-check',
      name: 'keyset: wrong iss',
      headers: { 'Approov-Token': token(es256, { claims: { iss: 'https://evil.example' } }) },
      expect: 401,
    },
    {
      route: '/token-check',
      name: 'keyset: ES256 alg naming the RSA key',
      headers: { 'Approov-Token': token(es256, { joseHeader: { kid: 'demo-rs256' } }) },
      expect: 401,
    },
  ];
}

/**
 * GraphQL at /graphql and the WebSocket gateway at /ws, with the plain ApproovGuard. A GraphQL
 * reject is an error in a 200 answer, so these cases say what came back: `data` or the error's
 * code; a WebSocket message gets its answer, or an `exception` event and a closed connection.
 */
function contextCases() {
  const token = (options = {}) =>
    createApproovToken({ secret: DEMO_SECRET, claims: { did: 'demo-device' }, ...options });
  const graphql = (name, query, headers, expect) => ({
    route: 'POST /graphql',
    name,
    expect,
    run: (url, traceId) => askGraphQL(url, query, { ...headers, 'Approov-TraceID': traceId }),
  });
  const ws = (name, headers, expect) => ({
    route: 'ws /ws',
    name,
    expect,
    run: (url, traceId) => askGateway(url, { ...headers, 'Approov-TraceID': traceId }),
  });
  return [
    graphql('GraphQL { hello }, no token', '{ hello }', {}, 'data'),
    graphql('GraphQL { shape }, valid token', '{ shape }', { 'Approov-Token': token() }, 'data'),
    graphql('GraphQL { shape }, no token', '{ shape }', {}, 'UNAUTHENTICATED'),
    graphql(
      'GraphQL { shape }, expired token',
      '{ shape }',
      { 'Approov-Token': token({ expiresIn: -60 }) },
      'UNAUTHENTICATED',
    ),
    ws('WebSocket hello, valid token on the upgrade', { 'Approov-Token': token() }, 'answered'),
    ws('WebSocket hello, no token', {}, 'refused+closed'),
    ws(
      'WebSocket hello, wrong secret',
      { 'Approov-Token': createApproovToken({ secret: createApproovSecret() }) },
      'refused+closed',
    ),
  ];
}

/** POSTs a GraphQL query: `data`, or the first error's code. */
async function askGraphQL(url, query, headers) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const answer = await response.json();
  return (
    answer.errors?.[0]?.extensions?.code ?? (answer.data ? 'data' : `status ${response.status}`)
  );
}

/** Opens ws://.../ws with the headers on the upgrade, sends `hello`: `answered`, or `refused+closed`. */
function askGateway(url, headers) {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers });
    const timer = setTimeout(() => finish('timeout'), REQUEST_TIMEOUT_MS);
    let refused = false;
    const finish = (outcome) => {
      clearTimeout(timer);
      socket.terminate();
      resolve(outcome);
    };
    socket.on('error', () => finish('error'));
    socket.on('open', () => socket.send(JSON.stringify({ event: 'hello', data: {} })));
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw));
      if (message.event === 'hello') finish('answered');
      else if (message.event === 'exception' && message.data?.message === 'Unauthorized')
        refused = true;
    });
    socket.on('close', () => finish(refused ? 'refused+closed' : 'closed'));
  });
}

/** Plays the tour; each request carries an Approov-TraceID so its log line (the reason) can be found. */
async function playTour(
  app,
  cases = [
    ...tourCases(),
    ...replayCases(app.url),
    ...messageSigningTourCases(),
    ...contextCases(),
  ],
  tracePrefix = 'demo',
) {
  const rows = [];
  for (const [index, testCase] of cases.entries()) {
    const traceId = `${tracePrefix}-${index + 1}`;
    testCase.before?.();
    let actual;
    try {
      if (testCase.run !== undefined) {
        actual = await testCase.run(app.url, traceId);
        rows.push({ ...testCase, traceId, actual, match: actual === testCase.expect });
        continue;
      }
      const signed = testCase.sign?.(app.url + testCase.route);
      const response = await fetch(app.url + testCase.route, {
        method: testCase.method ?? 'GET',
        body: signed?.body,
        headers: { ...(signed?.headers ?? testCase.headers), 'Approov-TraceID': traceId },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      actual = response.status;
    } catch (error) {
      actual = `error: ${error.name}`;
    }
    rows.push({ ...testCase, traceId, actual, match: actual === testCase.expect });
  }
  // The server logs the reason of each reject; give the log lines a moment to arrive.
  const deadline = Date.now() + LOG_WAIT_MS;
  const rejects = rows.filter(isReject);
  while (Date.now() < deadline && !rejects.every((row) => reasonOf(app.lines, row.traceId))) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const row of rows)
    row.reason = isReject(row) ? (reasonOf(app.lines, row.traceId) ?? '?') : '';
  return rows;
}

/** A 401, a GraphQL UNAUTHENTICATED error or a refused WebSocket message. */
function isReject(row) {
  return row.actual === 401 || row.actual === 'UNAUTHENTICATED' || row.actual === 'refused+closed';
}

function reasonOf(lines, traceId) {
  const pattern = new RegExp(`rejected (\\w+) .* trace=${traceId}( |$)`);
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

function printTable(rows) {
  const header = {
    route: 'route',
    name: 'case',
    expect: 'expected',
    actual: 'actual',
    match: 'match',
    reason: 'reason (server log)',
  };
  const cells = (row) => [
    row.route,
    row.name,
    String(row.expect),
    String(row.actual),
    typeof row.match === 'string' ? row.match : row.match ? 'yes' : 'NO',
    row.reason,
  ];
  const table = [cells(header), ...rows.map(cells)];
  const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
  const format = (line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  console.log(format(table[0]));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of table.slice(1)) console.log(format(line));
}

function printCurlCommands(url) {
  const fresh = (options = {}) =>
    createApproovToken({ secret: DEMO_SECRET, expiresIn: 3600, ...options });
  const quote = (text) => `'${text.replace(/'/g, `'\\''`)}'`;
  const curl = (route, headers) =>
    [
      'curl -i',
      quote(url + route),
      ...Object.entries(headers).map(([name, value]) => `-H ${quote(`${name}: ${value}`)}`),
    ].join(' ');
  console.log('\nTry it (tokens valid for one hour):\n');
  console.log(
    `# no token: 200 on /hello, 401 on a protected route\n${curl('/hello', {})}\n${curl('/token-check', {})}\n`,
  );
  console.log(`# a valid token\n${curl('/token-check', { 'Approov-Token': fresh() })}\n`);
  console.log(
    `# an expired token\n${curl('/token-check', { 'Approov-Token': fresh({ expiresIn: -60 }) })}\n`,
  );
  console.log(
    `# a token bound to the Authorization header (pay = ${approovBindingHash(USER_AUTH)})\n` +
      `${curl('/token-binding', { Authorization: USER_AUTH, 'Approov-Token': fresh({ bind: USER_AUTH }) })}\n`,
  );
  console.log(
    `# a token bound to Authorization then SessionId\n` +
      `${curl('/token-double-binding', {
        Authorization: USER_AUTH,
        SessionId: SESSION_ID,
        'Approov-Token': fresh({ bind: [USER_AUTH, SESSION_ID] }),
      })}\n`,
  );
  console.log(
    '# more tokens: node dist/esm/cli/main.js token --secret "$DEMO_SECRET" [--bind <value>] [--exp <seconds>]  (see --help)',
  );
}

async function main() {
  console.log(
    `DEMO secret (random, for this run only; never use it for a real API):\n  export DEMO_SECRET=${DEMO_SECRET}\n`,
  );
  const app = await startDemoApp(flags.platform);
  let keyset;
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    await app.stop();
    if (keyset !== undefined) {
      await keyset.app.stop();
      await keyset.jwks.close();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    console.log(`Sample app (${flags.platform}) listening on ${app.url}\n`);
    const rows = await playTour(app);
    keyset = await startKeysetPart(flags.platform);
    console.log(
      `Keyset sample app (${flags.platform}) listening on ${keyset.app.url}, JWKS served at ${keyset.jwks.url}\n`,
    );
    rows.push(...(await playTour(keyset.app, keysetCases(keyset), 'demo-keyset')));
    printTable(rows);
    const matched = rows.filter((row) => row.match).length;
    console.log(`\n${matched}/${rows.length} cases matched.`);
    if (flags.once) return await stop(matched === rows.length ? 0 : 1);

    printCurlCommands(app.url);
    console.log(
      '\nServing until Ctrl-C. Rejects are logged below; press Enter for fresh tokens.\n',
    );
    app.onLine((line) => console.log(`[sample-app] ${line}`));
    app.child.on('exit', (code) => {
      if (!stopping) {
        console.error(`demo: the sample app stopped (code ${code}).`);
        process.exit(1);
      }
    });
    if (process.stdin.isTTY)
      createInterface({ input: process.stdin }).on('line', () => printCurlCommands(app.url));
  } catch (error) {
    console.error(`demo: ${error.message}`);
    await stop(1);
  }
}

main().catch((error) => {
  console.error(`demo: ${error.message}`);
  process.exit(1);
});
