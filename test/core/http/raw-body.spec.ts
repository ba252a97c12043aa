import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import {
  captureRawBodies,
  captureRawBody,
  clientAddressOf,
  mayNeedRawBody,
  rawBodyCaptureOf,
  readRawBody,
  RawBodyCapture,
  type RawBodyRequest,
  type RawBodyResult,
} from '../../../src/core/http/raw-body.js';
import { RawBodyBudget } from '../../../src/core/http/raw-body-budget.js';

const COVERED = [
  'Signature-Input',
  'install=("@method" "content-digest");created=1',
  'Content-Digest',
  'sha-256=:AA==:',
];

/** A request stream the test pushes into, as the HTTP parser does. */
function fakeRequest(rawHeaders: string[] = COVERED): RawBodyRequest {
  const stream = new Readable({ read() {} }) as RawBodyRequest & {
    rawHeaders: string[];
    headers: Record<string, string>;
  };
  stream.rawHeaders = rawHeaders;
  stream.headers = {};
  for (let i = 0; i < rawHeaders.length; i += 2)
    stream.headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
  return stream;
}

function ok(result: RawBodyResult | Promise<RawBodyResult> | undefined): Buffer {
  if (result === undefined || result instanceof Promise || result.status !== 'ok')
    throw new Error(`not a settled body: ${JSON.stringify(result)}`);
  return result.body;
}

describe('mayNeedRawBody', () => {
  it('is true when a Signature-Input line covers content-digest and a Content-Digest is sent', () => {
    expect(mayNeedRawBody({ rawHeaders: COVERED })).toBe(true);
  });

  it('reads every Signature-Input line, in any letter case', () => {
    const rawHeaders = [
      'signature-input',
      'install=("@method")',
      'SIGNATURE-INPUT',
      'account=("content-digest")',
      'content-digest',
      'x',
    ];
    expect(mayNeedRawBody({ rawHeaders })).toBe(true);
  });

  it('is false without a Content-Digest header: the check fails before the body is needed', () => {
    expect(mayNeedRawBody({ rawHeaders: ['Signature-Input', 'install=("content-digest")'] })).toBe(
      false,
    );
  });

  it('is false when no signature covers content-digest', () => {
    expect(
      mayNeedRawBody({
        rawHeaders: ['Signature-Input', 'install=("@method")', 'Content-Digest', 'x'],
      }),
    ).toBe(false);
  });

  it('is false for a request with no signature at all', () => {
    expect(
      mayNeedRawBody({ rawHeaders: ['Content-Type', 'application/json', 'Content-Length', '12'] }),
    ).toBe(false);
  });

  it('reads the headers object when there is one, repeated lines joined or as a list', () => {
    expect(
      mayNeedRawBody({
        headers: {
          'signature-input': 'a=("@method"), b=("content-digest")',
          'content-digest': 'x',
        },
      }),
    ).toBe(true);
    expect(
      mayNeedRawBody({
        headers: {
          'signature-input': ['a=("@method")', 'b=("content-digest")'],
          'content-digest': 'x',
        },
      }),
    ).toBe(true);
    expect(
      mayNeedRawBody({ headers: { 'signature-input': 'a=("@method")', 'content-digest': 'x' } }),
    ).toBe(false);
    expect(mayNeedRawBody({ headers: { 'signature-input': 'a=("content-digest")' } })).toBe(false);
  });
});

describe('RawBodyCapture', () => {
  it('joins the chunks in order once the end is recorded', () => {
    const capture = new RawBodyCapture(10);
    capture.record(Buffer.from('ab'));
    capture.record(new Uint8Array([0x63]));
    capture.record('d', 'latin1');
    expect(capture.settled).toBeUndefined();
    capture.record(null);
    expect(ok(capture.settled)).toEqual(Buffer.from('abcd'));
  });

  it('keeps a body of exactly the limit', () => {
    const capture = new RawBodyCapture(4);
    capture.record(Buffer.from('abcd'));
    capture.record(null);
    expect(ok(capture.settled)).toEqual(Buffer.from('abcd'));
  });

  it('settles as too large one byte past the limit, and ignores the end that follows', () => {
    const capture = new RawBodyCapture(4);
    capture.record(Buffer.from('abc'));
    capture.record(Buffer.from('de'));
    expect(capture.settled).toEqual({ status: 'too_large' });
    capture.record(null);
    expect(capture.settled).toEqual({ status: 'too_large' });
  });

  it('resolves waiters with the outcome', async () => {
    const capture = new RawBodyCapture(10);
    const waiting = capture.whenSettled();
    capture.record(Buffer.from('x'));
    capture.record(null);
    expect(ok(await waiting)).toEqual(Buffer.from('x'));
  });
});

describe('captureRawBody', () => {
  it('keeps the bytes as pushed while the consumer reads them decoded to text', async () => {
    const request = fakeRequest();
    const capture = captureRawBody(request, 100)!;
    request.setEncoding('utf8'); // as Fastify's text parser does: the consumer sees strings
    let text = '';
    request.on('data', (chunk: string) => (text += chunk));
    const invalidUtf8 = Buffer.from([0x68, 0x69, 0xff, 0xfe]);
    request.push(invalidUtf8);
    request.push(null);
    await new Promise((resolve) => request.once('end', resolve));
    expect(text).toBe('hi\ufffd\ufffd');
    expect(ok(capture.settled)).toEqual(invalidUtf8);
  });

  it('keeps nothing more once settled', () => {
    const request = fakeRequest();
    const capture = captureRawBody(request, 100)!;
    request.push(Buffer.from('a'));
    request.push(null);
    const settled = capture.settled;
    capture.record(Buffer.from('late'));
    expect(capture.settled).toBe(settled);
    expect(ok(settled)).toEqual(Buffer.from('a'));
  });

  it('settles as too large at once when Content-Length is past the limit, keeping nothing', () => {
    const request = fakeRequest([...COVERED, 'Content-Length', '101']);
    const capture = captureRawBody(request, 100)!;
    expect(capture.settled).toEqual({ status: 'too_large' });
    expect(Object.hasOwn(request, 'push')).toBe(false); // nothing to keep, so no wrapper either
  });

  it('refuses to start once bytes are already buffered: they would be missing', () => {
    const request = fakeRequest();
    request.push(Buffer.from('early'));
    expect(captureRawBody(request, 100)).toBeUndefined();
  });

  it('settles as unavailable when the request closes before its end', async () => {
    const request = fakeRequest();
    const capture = captureRawBody(request, 100)!;
    request.push(Buffer.from('part'));
    request.destroy();
    expect(await capture.whenSettled()).toEqual({ status: 'unavailable' });
  });
});

describe('captureRawBodies', () => {
  it('captures, from the first request listener, only requests that may need their body', () => {
    const server = new EventEmitter();
    const seen: boolean[] = [];
    server.on('request', (request: RawBodyRequest) =>
      seen.push(rawBodyCaptureOf(request) !== undefined),
    );
    const stop = captureRawBodies(server, 100);
    const signed = fakeRequest();
    const plain = fakeRequest(['Content-Type', 'application/json']);
    server.emit('request', signed);
    server.emit('request', plain);
    expect(seen).toEqual([true, false]);
    stop();
    const later = fakeRequest();
    server.emit('request', later);
    expect(rawBodyCaptureOf(later)).toBeUndefined();
  });

  it('bounds the bytes all captures hold together: past it a new capture settles over_budget', () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100, { maxHeldBytes: 150 });
    const first = fakeRequest();
    const second = fakeRequest();
    server.emit('request', first, new EventEmitter());
    server.emit('request', second, new EventEmitter());
    first.push(Buffer.alloc(100));
    second.push(Buffer.alloc(60));
    expect(rawBodyCaptureOf(second)!.settled).toEqual({ status: 'over_budget' });
    first.push(null);
    expect(ok(rawBodyCaptureOf(first)!.settled)).toHaveLength(100);
  });

  it('frees a capture when its response closes, giving its bytes back to the others', () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100, { maxHeldBytes: 150 });
    const first = fakeRequest();
    const firstResponse = new EventEmitter();
    server.emit('request', first, firstResponse);
    first.push(Buffer.alloc(100));
    first.push(null);
    firstResponse.emit('close');
    expect(rawBodyCaptureOf(first)!.settled).toEqual({ status: 'unavailable' });
    const second = fakeRequest();
    server.emit('request', second, new EventEmitter());
    second.push(Buffer.alloc(100));
    second.push(null);
    expect(ok(rawBodyCaptureOf(second)!.settled)).toHaveLength(100);
  });

  it('settles a capture whose response closes before its body ended, and gives its bytes back', () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100, { maxHeldBytes: 100 });
    const first = fakeRequest();
    const firstResponse = new EventEmitter();
    server.emit('request', first, firstResponse);
    first.push(Buffer.alloc(90));
    firstResponse.emit('close');
    expect(rawBodyCaptureOf(first)!.settled).toEqual({ status: 'unavailable' });
    const second = fakeRequest();
    server.emit('request', second, new EventEmitter());
    second.push(Buffer.alloc(90));
    second.push(null);
    expect(ok(rawBodyCaptureOf(second)!.settled)).toHaveLength(90);
  });
});

/** A covered request from `address`, as a socket's peer. */
function fakeRequestFrom(address: string): RawBodyRequest {
  return Object.assign(fakeRequest(), { socket: { remoteAddress: address } });
}

describe('captureRawBodies shares its budget so that no stranger can take it', () => {
  it('lets one client address hold at most a quarter of the budget (at least one request limit)', () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100, { maxHeldBytes: 800 });
    const [a1, a2, a3, b1] = ['a', 'a', 'a', 'b'].map(fakeRequestFrom);
    for (const request of [a1, a2, a3, b1]) server.emit('request', request, new EventEmitter());
    a1!.push(Buffer.alloc(100));
    a2!.push(Buffer.alloc(100));
    a3!.push(Buffer.alloc(1));
    b1!.push(Buffer.alloc(100));
    expect(rawBodyCaptureOf(a2!)!.settled).toBeUndefined();
    expect(rawBodyCaptureOf(a3!)!.settled).toEqual({ status: 'over_budget' });
    expect(rawBodyCaptureOf(b1!)!.settled).toBeUndefined();
  });

  it('captures nothing for a refused token, and holds a pending token to a sixteenth of the budget', () => {
    const server = new EventEmitter();
    const admissions = new Map<RawBodyRequest, 'verified' | 'pending' | 'refused'>();
    captureRawBodies(server, 100, {
      maxHeldBytes: 1600,
      admit: (request) => admissions.get(request)!,
    });
    const [refused, pending, pendingOther, verified] = ['a', 'a', 'b', 'a'].map(fakeRequestFrom);
    admissions.set(refused!, 'refused');
    admissions.set(pending!, 'pending');
    admissions.set(pendingOther!, 'pending');
    admissions.set(verified!, 'verified');
    for (const request of admissions.keys()) server.emit('request', request, new EventEmitter());
    expect(rawBodyCaptureOf(refused!)).toBeUndefined();
    pending!.push(Buffer.alloc(20));
    pendingOther!.push(Buffer.alloc(26)); // past one client's share of the pending 100 bytes
    verified!.push(Buffer.alloc(100));
    expect(rawBodyCaptureOf(pending!)!.settled).toBeUndefined();
    expect(rawBodyCaptureOf(pendingOther!)!.settled).toEqual({ status: 'over_budget' });
    expect(rawBodyCaptureOf(verified!)!.settled).toBeUndefined();
  });

  it('drops a body not complete by the deadline, giving its bytes back', async () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100, { maxHeldBytes: 100, deadlineMs: 20 });
    const slow = fakeRequestFrom('a');
    server.emit('request', slow, new EventEmitter());
    slow.push(Buffer.alloc(90));
    await expect(rawBodyCaptureOf(slow)!.whenSettled()).resolves.toEqual({ status: 'timeout' });
    const next = fakeRequestFrom('a');
    server.emit('request', next, new EventEmitter());
    next.push(Buffer.alloc(90));
    next.push(null);
    expect(ok(rawBodyCaptureOf(next)!.settled)).toHaveLength(90);
  });

  it('counts each share and gives every byte back', () => {
    const budget = new RawBodyBudget(1600, 10);
    expect([budget.clientLimit, budget.pendingLimit, budget.pendingClientLimit]).toEqual([
      400, 100, 25,
    ]);
    expect(budget.take('a', true, 25)).toBe(true);
    expect(budget.take('a', false, 375)).toBe(true);
    expect(budget.take('a', false, 1)).toBe(false);
    expect([budget.held, budget.pendingHeld, budget.heldBy('a')]).toEqual([400, 25, 400]);
    budget.give('a', true, 25);
    budget.give('a', false, 375);
    budget.give('a', false, 0);
    expect([budget.held, budget.pendingHeld, budget.heldBy('a')]).toEqual([0, 0, 0]);
  });

  it('names no address for a request without a socket', () => {
    expect(clientAddressOf({})).toBe('');
    expect(clientAddressOf({ socket: { remoteAddress: '::1' } })).toBe('::1');
  });
});

describe('readRawBody', () => {
  it('gives up at its deadline on a body that never ends, failing closed and freeing the capture', async () => {
    const request = fakeRequest();
    const capture = captureRawBody(request, 100)!;
    request.push(Buffer.from([1, 2]));
    await expect(readRawBody(request, 100, 20)).resolves.toEqual({ status: 'timeout' });
    expect(capture.settled).toEqual({ status: 'timeout' });
  });

  it('answers at once when a consumer already read the whole body', () => {
    const request = fakeRequest();
    captureRawBody(request, 100);
    request.push(Buffer.from('{}'));
    request.push(null);
    expect(ok(readRawBody(request, 100))).toEqual(Buffer.from('{}'));
  });

  it('reads a body nothing consumed, then answers', async () => {
    const request = fakeRequest();
    captureRawBody(request, 100);
    request.push(Buffer.from([1, 2]));
    const reading = readRawBody(request, 100);
    expect(reading).toBeInstanceOf(Promise);
    request.push(Buffer.from([3]));
    request.push(null);
    expect(ok(await reading)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('without a capture, reads a stream nothing has read yet, from what is already buffered', async () => {
    const request = fakeRequest();
    request.push(Buffer.from('abc'));
    const reading = readRawBody(request, 100);
    request.push(Buffer.from('def'));
    request.push(null);
    expect(ok(await reading)).toEqual(Buffer.from('abcdef'));
  });

  it('without a capture, bounds the late read too', async () => {
    const request = fakeRequest();
    const reading = readRawBody(request, 3);
    request.push(Buffer.from('abcd'));
    expect(await reading).toEqual({ status: 'too_large' });
  });

  it('is unavailable when the stream was consumed before any capture', async () => {
    const request = fakeRequest();
    request.resume();
    request.push(Buffer.from('gone'));
    request.push(null);
    await new Promise((resolve) => request.once('end', resolve));
    expect(readRawBody(request, 100)).toEqual({ status: 'unavailable' });
  });
});

describe('captureRawBodies on a request it cannot read', () => {
  it('never throws into the server: the request goes on uncaptured', () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100);
    const seen: unknown[] = [];
    server.on('request', (request: unknown) => seen.push(request));
    const hostile = {
      get headers(): never {
        throw new Error('boom');
      },
    };
    expect(() => server.emit('request', hostile)).not.toThrow();
    expect(seen).toEqual([hostile]);
    expect(rawBodyCaptureOf(hostile)).toBeUndefined();
  });
});
