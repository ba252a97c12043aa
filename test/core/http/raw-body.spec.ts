import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import {
  captureRawBodies,
  captureRawBody,
  mayNeedRawBody,
  rawBodyCaptureOf,
  readRawBody,
  RawBodyCapture,
  type RawBodyRequest,
  type RawBodyResult,
} from '../../../src/core/http/raw-body.js';

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

  it('bounds the bytes all captures hold together: past it a new capture settles unavailable', () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100, 150);
    const first = fakeRequest();
    const second = fakeRequest();
    server.emit('request', first, new EventEmitter());
    server.emit('request', second, new EventEmitter());
    first.push(Buffer.alloc(100));
    second.push(Buffer.alloc(60));
    expect(rawBodyCaptureOf(second)!.settled).toEqual({ status: 'unavailable' });
    first.push(null);
    expect(ok(rawBodyCaptureOf(first)!.settled)).toHaveLength(100);
  });

  it('frees a capture when its response closes, giving its bytes back to the others', () => {
    const server = new EventEmitter();
    captureRawBodies(server, 100, 150);
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
    captureRawBodies(server, 100, 100);
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

describe('readRawBody', () => {
  it('gives up at its deadline on a body that never ends, failing closed and freeing the capture', async () => {
    const request = fakeRequest();
    const capture = captureRawBody(request, 100)!;
    request.push(Buffer.from([1, 2]));
    await expect(readRawBody(request, 100, 20)).resolves.toEqual({ status: 'unavailable' });
    expect(capture.settled).toEqual({ status: 'unavailable' });
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
