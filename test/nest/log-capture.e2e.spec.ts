import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { LogCapture } from '../support/log-capture.js';

// The leak check that ends every e2e suite must be able to fail: it sees a value written through
// the Nest logger or straight to stdout/stderr, and a secret in any of its spellings.

describe('LogCapture, the leak detector of the e2e suites', () => {
  it('finds a token written through a Nest logger', () => {
    const capture = new LogCapture();
    const token = `eyJ${randomBytes(30).toString('base64url')}`;
    capture.addSensitive(token);
    Logger.overrideLogger(capture.logger);
    new Logger('Approov').warn(`rejected token_expired http GET /x token=${token}`);
    Logger.overrideLogger(false);
    expect(capture.leaks()).toEqual([token]);
    expect(capture.approovLines()).toHaveLength(1);
  });

  it('finds a value written straight to process.stderr', () => {
    const capture = new LogCapture();
    const header = `Bearer ${randomBytes(20).toString('hex')}`; // random, so harmless on the test output
    capture.addSensitive(header);
    capture.start();
    try {
      process.stderr.write(`leak probe: ${header}\n`);
    } finally {
      capture.stop();
    }
    expect(capture.leaks()).toEqual([header]);
  });

  it.each([
    ['its base64 text', (bytes: Buffer) => bytes.toString('base64')],
    ['its base64url text', (bytes: Buffer) => bytes.toString('base64url')],
    ['the hex of its bytes', (bytes: Buffer) => bytes.toString('hex')],
  ])('finds a secret logged as %s', (_name, spell) => {
    const capture = new LogCapture();
    const bytes = randomBytes(32);
    capture.addSecret(bytes.toString('base64'));
    capture.logger.error(`key=${spell(bytes)}`, 'Approov');
    expect(capture.leaks().length).toBeGreaterThan(0);
  });

  it('reports nothing for clean output', () => {
    const capture = new LogCapture();
    capture.addSecret(randomBytes(32).toString('base64'));
    capture.logger.warn('rejected token_expired http GET /token-check trace=abc', 'Approov');
    expect(capture.leaks()).toEqual([]);
  });
});
