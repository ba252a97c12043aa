// `npm run bench:keysets`: ES256 and RS256 verification, fresh and cached, beside HS256 and the raw
// node:crypto floors, in one run (tinybench, whole rounds, medians). Also jose's jwtVerify on a local
// JWK Set, the library this module could have verified with. Prints a table and writes the block of
// bench/README.md between its markers. JWKS served on 127.0.0.1 by the testing helper, fetched once.
import { createHmac, createPublicKey, createSecretKey, verify, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { Bench } from 'tinybench';
import { ApproovVerifier, TokenKeyring, resolveApproovConfig } from './internals.js';
import {
  createApproovJwks,
  createApproovKeyPair,
  createApproovKeysetToken,
  createApproovSecret,
  createApproovToken,
  startApproovJwksServer,
} from 'nestjs-approov/testing';
import {
  writeGeneratedBlock,
  loadAverage,
  machineDescription,
  markdownTable,
  median,
  textTable,
} from './common.js';

const BATCH = 100;

const freshCopy = (text: string): string => Buffer.from(text, 'latin1').toString('latin1');
let sink: unknown;

/** A task timing BATCH calls over fresh string copies made before the clock starts. */
function batched(bench: Bench, input: string, call: (input: string) => unknown) {
  const inputs = new Array<string>(BATCH);
  return () => {
    for (let i = 0; i < BATCH; i++) inputs[i] = freshCopy(input);
    const start = bench.now();
    for (let i = 0; i < BATCH; i++) sink = call(inputs[i]!);
    const elapsed = bench.now() - start;
    return { overriddenDuration: elapsed / BATCH, overriddenIterationCost: elapsed };
  };
}

/** The same, for an async call: the batch awaits each call in turn. */
function batchedAsync(bench: Bench, input: string, call: (input: string) => Promise<unknown>) {
  const inputs = new Array<string>(BATCH);
  return async () => {
    for (let i = 0; i < BATCH; i++) inputs[i] = freshCopy(input);
    const start = bench.now();
    for (let i = 0; i < BATCH; i++) sink = await call(inputs[i]!);
    const elapsed = bench.now() - start;
    return { overriddenDuration: elapsed / BATCH, overriddenIterationCost: elapsed };
  };
}

function parts(token: string): { signingInput: string; payloadJson: string; signature: Buffer } {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return {
    signingInput: `${header}.${payload}`,
    payloadJson: Buffer.from(payload, 'base64url').toString('utf8'),
    signature: Buffer.from(signature, 'base64url'),
  };
}

async function main(): Promise<void> {
  const timeMs = Number(process.env.BENCH_KEYSETS_TIME_MS ?? 400);
  const rounds = Number(process.env.BENCH_KEYSETS_ROUNDS ?? 5);
  const es256 = createApproovKeyPair('ES256', 'bench-es256');
  const rs256 = createApproovKeyPair('RS256', 'bench-rs256');
  const secret = createApproovSecret();
  const claims = { did: 'bench-device', ip: '127.0.0.1' };
  const esToken = createApproovKeysetToken({ key: es256, claims, expiresIn: 3600 });
  const rsToken = createApproovKeysetToken({ key: rs256, claims, expiresIn: 3600 });
  const hsToken = createApproovToken({ secret, claims, expiresIn: 3600 });

  const jwks = await startApproovJwksServer(es256, rs256);
  const config = resolveApproovConfig({ jwksUri: jwks.url, secret }, {});
  if (!(await config.keyset!.start())) throw new Error('the bench JWKS did not load');
  config.keyset!.close();
  await jwks.close();
  const keysetFresh = new ApproovVerifier({ ...config.verifier, cacheSize: 0 });
  const keysetCached = new ApproovVerifier(config.verifier);
  const hsKey = createSecretKey(Buffer.from(secret, 'base64'));
  const hsFresh = new ApproovVerifier({ keyring: TokenKeyring.ofSecrets([hsKey]), cacheSize: 0 });
  const hsCached = new ApproovVerifier({ keyring: TokenKeyring.ofSecrets([hsKey]) });
  const joseKeys = createLocalJWKSet(
    createApproovJwks(es256, rs256) as Parameters<typeof createLocalJWKSet>[0],
  );

  const es = parts(esToken);
  const rs = parts(rsToken);
  const hs = parts(hsToken);
  const esPublic: KeyObject = createPublicKey(es256.privateKey);
  const rsPublic: KeyObject = createPublicKey(rs256.privateKey);
  const esInput = { key: esPublic, dsaEncoding: 'ieee-p1363' as const };

  for (const [verifier, token] of [
    [keysetFresh, esToken],
    [keysetFresh, rsToken],
    [keysetFresh, hsToken],
    [hsFresh, hsToken],
  ] as const) {
    if (!verifier.verifyToken(token).ok) throw new Error('a bench token was rejected');
  }
  await jwtVerify(esToken, joseKeys, { algorithms: ['ES256'] });

  const bench = new Bench({ time: timeMs, warmupTime: 200, warmupIterations: 10, iterations: 20 });
  bench
    .add(
      'HS256 raw floor: HMAC-SHA256 + JSON.parse',
      batched(bench, hs.signingInput, (input) => {
        createHmac('sha256', hsKey).update(input).digest();
        return JSON.parse(hs.payloadJson);
      }),
    )
    .add(
      'HS256 fresh verify (cache disabled)',
      batched(bench, hsToken, (input) => hsFresh.verifyToken(input)),
    )
    .add(
      'HS256 fresh verify, keyset configured too',
      batched(bench, hsToken, (input) => keysetFresh.verifyToken(input)),
    )
    .add(
      'HS256 cached verify',
      batched(bench, hsToken, (input) => hsCached.verifyToken(input)),
    )
    .add(
      'ES256 raw floor: crypto.verify + JSON.parse',
      batched(bench, es.signingInput, (input) => {
        verify('sha256', Buffer.from(input, 'latin1'), esInput, es.signature);
        return JSON.parse(es.payloadJson);
      }),
    )
    .add(
      'ES256 fresh verify (cache disabled)',
      batched(bench, esToken, (input) => keysetFresh.verifyToken(input)),
    )
    .add(
      'ES256 cached verify',
      batched(bench, esToken, (input) => keysetCached.verifyToken(input)),
    )
    .add(
      'ES256 jose jwtVerify, local JWK Set (async)',
      batchedAsync(bench, esToken, (input) =>
        jwtVerify(input, joseKeys, { algorithms: ['ES256'] }),
      ),
    )
    .add(
      'RS256 raw floor: crypto.verify + JSON.parse',
      batched(bench, rs.signingInput, (input) => {
        verify('sha256', Buffer.from(input, 'latin1'), rsPublic, rs.signature);
        return JSON.parse(rs.payloadJson);
      }),
    )
    .add(
      'RS256 fresh verify (cache disabled)',
      batched(bench, rsToken, (input) => keysetFresh.verifyToken(input)),
    )
    .add(
      'RS256 cached verify',
      batched(bench, rsToken, (input) => keysetCached.verifyToken(input)),
    )
    .add(
      'RS256 jose jwtVerify, local JWK Set (async)',
      batchedAsync(bench, rsToken, (input) =>
        jwtVerify(input, joseKeys, { algorithms: ['RS256'] }),
      ),
    );

  const perTask = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result as { latency?: { p50: number } };
      if (result.latency === undefined)
        throw new Error(`keyset benchmark task failed: ${task.name}`);
      perTask.set(task.name, [...(perTask.get(task.name) ?? []), result.latency.p50 * 1e6]);
    }
  }
  void sink;

  const results = [...perTask].map(([name, samples]) => ({ name, ns: median(samples) }));
  const floorOf = (name: string) =>
    results.find((r) => r.name.startsWith(`${name.slice(0, 5)} raw floor`))!.ns;
  const head = ['Operation', 'median us/op', 'x its raw floor'];
  const rows = results.map((r) => [
    r.name,
    (r.ns / 1000).toFixed(2),
    (r.ns / floorOf(r.name)).toFixed(2),
  ]);
  process.stdout.write(`${textTable(head, rows)}\n`);

  const how =
    `${machineDescription()}; load average ${loadAverage()} at the end. tinybench, ${rounds} whole rounds of every task, ` +
    `the median across rounds; each sample is the mean of a batch of ${BATCH} calls on fresh string copies. ` +
    'Raw floors: node:crypto alone (HMAC, or crypto.verify with the cached KeyObject) plus JSON.parse of the decoded payload, in the same run. ' +
    'RSA keys are 2048-bit; ES256 is P-256.';
  writeGeneratedBlock(
    'bench:keysets',
    `### Keysets (\`npm run bench:keysets\`)\n\n${how}\n\n${markdownTable(head, rows)}`,
  );
}

await main();
