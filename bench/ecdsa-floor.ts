// `node bench/dist/ecdsa-floor.js`: prints the CPU microseconds of one ECDSA P-256 verify of a
// signature-base-sized input, in a loop: the floor of a signed request before any HTTP. `npm run
// bench` runs it on the server's core once per round.
import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as signBytes,
  verify as verifySignature,
} from 'node:crypto';
import { createApproovInstallationKey } from 'nestjs-approov/testing';
import { median } from './common.js';

const BATCH = 300;
const BATCHES = 7;

const privateKey = createPrivateKey(createApproovInstallationKey().privateKey);
const publicKey = createPublicKey(privateKey);
const base = `"@method": GET\n"@target-uri": http://127.0.0.1:8080/bench\n"approov-token": ${randomBytes(300).toString('base64url')}\n"@signature-params": ("@method" "@target-uri" "approov-token");created=1700000000;alg="ecdsa-p256-sha256"`;
const data = Buffer.from(base);
const signature = signBytes('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
const samples: number[] = [];
for (let batch = 0; batch < BATCHES; batch++) {
  const start = process.cpuUsage();
  for (let i = 0; i < BATCH; i++) {
    if (!verifySignature('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature))
      throw new Error('floor verify failed');
  }
  const used = process.cpuUsage(start);
  if (batch > 0) samples.push((used.user + used.system) / BATCH); // the first batch warms up
}
process.stdout.write(`${median(samples)}\n`);
