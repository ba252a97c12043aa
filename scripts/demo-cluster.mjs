// `npm run demo:cluster`: two sample-app processes (Express and Fastify) on two ports, sharing
// the Redis at REDIS_URL (default redis://127.0.0.1:6379) as their replay store, as two instances
// of an API behind a load balancer would. A signed request served by one instance is replayed to
// the other, which refuses it. Prints the table, stops both, exits 0 when every case matched.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import {
  createApproovInstallationKey,
  createApproovSecret,
  createApproovToken,
  signApproovRequest,
} from 'nestjs-approov/testing';
import { assertSampleAppBuilt, startSampleApp } from './sample-app.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUEST_TIMEOUT_MS = 5_000;
const LOG_WAIT_MS = 2_000;
// The one host name clients use: the load balancer sends it to either instance, and it is signed.
const API_HOST = 'api.example.com';

try {
  assertSampleAppBuilt();
} catch (error) {
  console.error(`demo:cluster: ${error.message}`);
  process.exit(1);
}

/** PING over a raw socket: no client library needed to say whether Redis is there. */
async function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    // A server that wants a password answers -NOAUTH: it is there.
    socket.on('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

/** Starts one instance on a free port; resolves once it listens. */
async function startInstance(name, platform, env) {
  const app = await startSampleApp({ platform, env, name: `instance ${name}` });
  return { name, platform, url: app.url, port: new URL(app.url).port, app, lines: app.lines };
}

/** A signed request as an app would send it to https://api.example.com (over http here, on loopback). */
function signedRequest(secret, installation, method, path, body) {
  const token = createApproovToken({ secret, claims: { ipk: installation.ipk } });
  const content = body === undefined ? {} : { 'content-type': 'application/json' };
  const signature = signApproovRequest({
    privateKey: installation.privateKey,
    method,
    url: `http://${API_HOST}${path}`,
    token,
    body,
    headers: content,
  });
  return {
    method,
    path,
    body,
    headers: { host: API_HOST, 'approov-token': token, ...content, ...signature },
  };
}

function send(instance, signed, traceId) {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: instance.port,
        method: signed.method,
        path: signed.path,
        headers: { ...signed.headers, 'approov-traceid': traceId },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve(`error: ${error.message}`));
    req.end(signed.body);
  });
}

function reasonOf(lines, traceId) {
  const pattern = new RegExp(`rejected (\\w+) .* trace=${traceId}$`);
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

function printTable(rows) {
  const header = ['instance', 'case', 'expected', 'actual', 'match', 'reason (server log)'];
  const table = [
    header,
    ...rows.map((row) => [
      row.instance,
      row.name,
      String(row.expect),
      String(row.actual),
      row.match ? 'yes' : 'NO',
      row.reason,
    ]),
  ];
  const widths = header.map((_, column) => Math.max(...table.map((line) => line[column].length)));
  const format = (line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  console.log(format(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of table.slice(1)) console.log(format(line));
}

async function main() {
  if (!(await redisAnswers(REDIS_URL))) {
    console.error(
      `demo:cluster: no Redis answered at ${new URL(REDIS_URL).host} (REDIS_URL, default redis://127.0.0.1:6379). ` +
        'Start one (redis-server) or set REDIS_URL.',
    );
    return 1;
  }
  const secret = createApproovSecret();
  const env = {
    APPROOV_BASE64_SECRET: secret,
    REDIS_URL,
    // A prefix of this run's own: the demo's keys never meet another app's (they expire within seconds).
    REDIS_KEY_PREFIX: `approov-demo-cluster:${randomBytes(4).toString('hex')}:`,
  };
  const instances = [];
  try {
    instances.push(await startInstance('A', 'express', env));
    instances.push(await startInstance('B', 'fastify', env));
    const [a, b] = instances;
    console.log(
      `Two instances sharing the Redis at ${new URL(REDIS_URL).host}, clients calling ${API_HOST}:`,
    );
    for (const instance of instances)
      console.log(`  ${instance.name}: ${instance.url} (${instance.platform})`);
    console.log('');

    const installation = createApproovInstallationKey();
    const get = signedRequest(secret, installation, 'GET', '/message-signing');
    const post = signedRequest(
      secret,
      installation,
      'POST',
      '/message-signing',
      '{"transfer":{"to":"bob","amount":100}}',
    );
    const cases = [
      { instance: a, name: 'signed GET', signed: get, expect: 200 },
      {
        instance: b,
        name: 'the same GET, replayed to the other instance',
        signed: get,
        expect: 401,
      },
      { instance: b, name: 'signed POST with a body', signed: post, expect: 200 },
      {
        instance: a,
        name: 'the same POST, replayed to the other instance',
        signed: post,
        expect: 401,
      },
      {
        instance: b,
        name: 'the same POST, replayed to the instance that served it',
        signed: post,
        expect: 401,
      },
    ];
    const rows = [];
    for (const [index, testCase] of cases.entries()) {
      const traceId = `cluster-${index + 1}`;
      const actual = await send(testCase.instance, testCase.signed, traceId);
      rows.push({
        instance: `${testCase.instance.name} (${testCase.instance.platform})`,
        lines: testCase.instance.lines,
        traceId,
        name: testCase.name,
        expect: testCase.expect,
        actual,
        match: actual === testCase.expect,
      });
    }
    const deadline = Date.now() + LOG_WAIT_MS;
    const rejects = rows.filter((row) => row.actual === 401);
    while (Date.now() < deadline && !rejects.every((row) => reasonOf(row.lines, row.traceId))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const row of rows)
      row.reason = row.actual === 401 ? (reasonOf(row.lines, row.traceId) ?? '?') : '';
    printTable(rows);
    const matched = rows.filter((row) => row.match).length;
    console.log(`\n${matched}/${rows.length} cases matched.`);
    return matched === rows.length ? 0 : 1;
  } finally {
    await Promise.all(instances.map((instance) => instance.app.stop()));
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`demo:cluster: ${error.message}`);
    process.exit(1);
  },
);
