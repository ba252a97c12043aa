import {
  ApproovConfigurationError,
  ApproovMessageSigning,
  MemoryReplayStore,
  type ApproovModuleOptions,
  type ReplayStore,
} from 'nestjs-approov';
import { jest } from '@jest/globals';
import { fakeDateAndTimeouts, realClock } from '../support/fake-clock.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, bootError } from '../support/nest-app.js';
import {
  SERVED,
  UNAUTHORIZED,
  UNAVAILABLE,
  sendTo,
  signedAgain,
  signedRequest,
  type SignedRequest,
} from '../support/replay-requests.js';
import { replayAppModule, startReplayApp, type ReplayApp } from './apps/replay-app.js';

/** What the module logged (context 'Approov'), message by message, without the context the capture appends. */
const logged = (): string[] =>
  logCapture.approovLines().map((line) => line.message.replace(/ Approov$/, ''));
const [[, express], [, fastify]] = ADAPTERS;

const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const BODY = '{"transfer":{"to":"FR76 3000 6000 0112 3456 7890 189","amount":1000}}';

/** The captured request with its signature re-encoded as an sf-string (Android's form). */
function asStringForm(request: SignedRequest): SignedRequest {
  const bytes = /^install=:(.*):$/.exec(String(request.headers.Signature))![1]!;
  return { ...request, headers: { ...request.headers, Signature: `install="${bytes}"` } };
}

/** The captured request with its signature's s replaced by n - s: another valid signature of the same base. */
function asHighSTwin(request: SignedRequest): SignedRequest {
  const bytes = Buffer.from(
    /^install=:(.*):$/.exec(String(request.headers.Signature))![1]!,
    'base64',
  );
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([
    bytes.subarray(0, 32),
    Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex'),
  ]);
  return {
    ...request,
    headers: { ...request.headers, Signature: `install=:${twin.toString('base64')}:` },
  };
}

/** A store that answers as the test says, and records what it was asked. */
class ScriptedStore implements ReplayStore {
  readonly calls: Array<{ key: string; ttlMs: number }> = [];
  closed = 0;
  constructor(
    private readonly answer: () => boolean | Promise<boolean>,
    private readonly healthy = true,
  ) {}
  rememberIfAbsent(key: string, ttlMs: number): boolean | Promise<boolean> {
    this.calls.push({ key, ttlMs });
    return this.answer();
  }
  checkHealth(): Promise<boolean> {
    return Promise.resolve(this.healthy);
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

describe.each(ADAPTERS)('replay protection in memory on %s', (_name, createAdapter) => {
  let running: ReplayApp;

  beforeAll(async () => {
    running = await startReplayApp(createAdapter);
  });
  afterAll(async () => {
    await running.close();
  });
  beforeEach(() => {
    running.reports.length = 0;
  });
  const codes = (): string[] => running.reports.map((report) => report.code);

  it('serves the first sighting of a signed GET and refuses its replay with 401 signature_replayed', async () => {
    const captured = signedRequest('GET', '/protected');
    expect(await sendTo(running.baseUrl, captured)).toEqual(SERVED);
    expect(codes()).toEqual([]);
    expect(await sendTo(running.baseUrl, captured)).toEqual(UNAUTHORIZED);
    expect(codes()).toEqual(['signature_replayed']);
  });

  it('logs the replay like any other reject: code, method and path', async () => {
    const captured = signedRequest('GET', '/protected?account=42');
    await sendTo(running.baseUrl, captured);
    await sendTo(running.baseUrl, captured, { 'approov-traceid': 'replay-trace-1' });
    expect(logged()).toContain(
      'rejected signature_replayed http GET /protected trace=replay-trace-1',
    );
  });

  it('refuses every one of 10 replays of a signed POST with a body', async () => {
    const captured = signedRequest('POST', '/protected', { body: BODY });
    expect(await sendTo(running.baseUrl, captured)).toEqual(SERVED);
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push(await sendTo(running.baseUrl, captured));
    expect(replies).toEqual(Array(10).fill(UNAUTHORIZED));
    expect(codes()).toEqual(Array(10).fill('signature_replayed'));
  });

  it('refuses a replay whose signature is re-encoded as an sf-string', async () => {
    const captured = signedRequest('GET', '/protected');
    expect(await sendTo(running.baseUrl, captured)).toEqual(SERVED);
    expect(await sendTo(running.baseUrl, asStringForm(captured))).toEqual(UNAUTHORIZED);
    expect(codes()).toEqual(['signature_replayed']);
  });

  it('refuses a replay carrying the high-S twin of the signature', async () => {
    const captured = signedRequest('GET', '/protected');
    expect(await sendTo(running.baseUrl, captured)).toEqual(SERVED);
    expect(await sendTo(running.baseUrl, asHighSTwin(captured))).toEqual(UNAUTHORIZED);
    expect(codes()).toEqual(['signature_replayed']);
  });

  it.each([
    ['GET', undefined],
    ['POST', BODY],
  ])(
    'serves two requests the device signed independently with identical content in one second (%s)',
    async (method, body) => {
      const first = signedRequest(method, '/protected', { body });
      const second = signedAgain(first);
      expect(second.headers['Signature-Input']).toBe(first.headers['Signature-Input']);
      expect(second.headers.Signature).not.toBe(first.headers.Signature);
      expect(await sendTo(running.baseUrl, first)).toEqual(SERVED);
      expect(await sendTo(running.baseUrl, second)).toEqual(SERVED);
      // Each is still its own capture: its replay and its high-S twin are refused.
      expect(await sendTo(running.baseUrl, second)).toEqual(UNAUTHORIZED);
      expect(await sendTo(running.baseUrl, asHighSTwin(first))).toEqual(UNAUTHORIZED);
      expect(codes()).toEqual(['signature_replayed', 'signature_replayed']);
    },
  );

  it("serves a request that also carries another party's label, whose value is not canonical base64", async () => {
    const captured = signedRequest('GET', '/protected');
    const withForeign = {
      ...captured,
      headers: {
        ...captured.headers,
        'Signature-Input': `${captured.headers['Signature-Input']}, cdn=("@method");created=1`,
        Signature: `${captured.headers.Signature}, cdn=:AAB=:`,
      },
    };
    expect(await sendTo(running.baseUrl, withForeign)).toEqual(SERVED);
    expect(codes()).toEqual([]);
  });

  it('serves exactly one of 200 concurrent copies of one signed request', async () => {
    const captured = signedRequest('GET', '/protected');
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => sendTo(running.baseUrl, captured)),
    );
    expect(replies.filter((reply) => reply.status === 200)).toEqual([SERVED]);
    expect(replies.filter((reply) => reply.status === 401)).toHaveLength(199);
  });

  it('does not remember a request that failed verification: the genuine one is still served after a tampered copy', async () => {
    const captured = signedRequest('GET', '/protected');
    const tampered = { ...captured, path: '/protected?amount=1000' };
    expect(await sendTo(running.baseUrl, tampered)).toEqual(UNAUTHORIZED);
    expect(await sendTo(running.baseUrl, captured)).toEqual(SERVED);
    expect(codes()).toEqual(['install_signature_invalid']);
  });

  it('serves every distinct signed request, however many', async () => {
    const replies = [];
    for (let i = 0; i < 20; i++)
      replies.push(await sendTo(running.baseUrl, signedRequest('GET', '/protected')));
    expect(replies).toEqual(Array(20).fill(SERVED));
  });

  it('serves replays on a route marked allowReplays: true', async () => {
    const captured = signedRequest('GET', '/replayable');
    const replies = [
      await sendTo(running.baseUrl, captured),
      await sendTo(running.baseUrl, captured),
      await sendTo(running.baseUrl, captured),
    ];
    expect(replies).toEqual([SERVED, SERVED, SERVED]);
    expect(codes()).toEqual([]);
  });

  it('has nothing to remember when an optional signature is not sent: a token-only request can repeat', async () => {
    const { 'approov-token': token } = signedRequest('GET', '/optional').headers;
    const bare = { method: 'GET', path: '/optional', headers: { 'approov-token': token } };
    // The token carries an ipk, so the optional route wants its signature: a token without one.
    expect(await sendTo(running.baseUrl, bare)).toEqual(UNAUTHORIZED);
    running.reports.length = 0;
    const tokenOnly = { method: 'GET', path: '/token-only', headers: { 'approov-token': token } };
    expect([
      await sendTo(running.baseUrl, tokenOnly),
      await sendTo(running.baseUrl, tokenOnly),
    ]).toEqual([SERVED, SERVED]);
  });
});

describe.each(ADAPTERS)('replay options on %s', (_name, createAdapter) => {
  let running: ReplayApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('turns replay protection off for the module with messageSigning.allowReplays: true, and a route can turn it back on', async () => {
    running = await startReplayApp(createAdapter, { messageSigning: { allowReplays: true } });
    const open = signedRequest('GET', '/protected');
    expect([await sendTo(running.baseUrl, open), await sendTo(running.baseUrl, open)]).toEqual([
      SERVED,
      SERVED,
    ]);
    const guarded = signedRequest('GET', '/reprotected');
    expect([
      await sendTo(running.baseUrl, guarded),
      await sendTo(running.baseUrl, guarded),
    ]).toEqual([SERVED, UNAUTHORIZED]);
  });

  it('serves a replay in monitor mode, reporting what it would have refused', async () => {
    running = await startReplayApp(createAdapter, { mode: 'monitor' });
    const captured = signedRequest('GET', '/protected');
    expect([
      await sendTo(running.baseUrl, captured),
      await sendTo(running.baseUrl, captured),
    ]).toEqual([SERVED, SERVED]);
    expect(running.reports.map(({ code, monitored }) => ({ code, monitored }))).toEqual([
      { code: 'signature_replayed', monitored: true },
    ]);
  });

  it('remembers a request until its signature could no longer pass (expires, as the SDK signs it), no longer', async () => {
    const store = new ScriptedStore(() => true);
    running = await startReplayApp(createAdapter, { replay: { store } });
    const created = Math.floor(Date.now() / 1000);
    const before = Date.now();
    await sendTo(
      running.baseUrl,
      signedRequest('GET', '/protected', { signing: { created, expires: created + 15 } }),
    );
    const after = Date.now();
    expect(store.calls).toHaveLength(1);
    const { key, ttlMs } = store.calls[0]!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // expires plus the default 10 s of clock leeway (until then the signature still passes), plus the margin
    // for another instance whose clock is behind (a store the app gives may be shared): the
    // leeway again and the default 5 s of replay.serverSkewSec.
    expect(ttlMs).toBeLessThanOrEqual((created + 15 + 10 + 10 + 5) * 1000 - before);
    expect(ttlMs).toBeGreaterThanOrEqual((created + 15 + 10 + 10 + 5) * 1000 - after);
  });

  it('remembers a request without expires until created + maxAgeSec + clockToleranceSec, plus the margin', async () => {
    const store = new ScriptedStore(() => true);
    running = await startReplayApp(createAdapter, {
      replay: { store, serverSkewSec: 2 },
      messageSigning: { maxAgeSec: 30, clockToleranceSec: 5 },
    });
    const created = Math.floor(Date.now() / 1000);
    const before = Date.now();
    await sendTo(
      running.baseUrl,
      signedRequest('GET', '/protected', { signing: { created, expires: null } }),
    );
    const after = Date.now();
    const { ttlMs } = store.calls[0]!;
    expect(ttlMs).toBeLessThanOrEqual((created + 35 + 5 + 2) * 1000 + 1 - before);
    expect(ttlMs).toBeGreaterThanOrEqual((created + 35 + 5 + 2) * 1000 + 1 - after);
  });

  it('answers 503 with no reason, code replay_store_unavailable, when the store fails', async () => {
    running = await startReplayApp(createAdapter, {
      replay: {
        store: new ScriptedStore(() => Promise.reject(new Error('connection lost to 10.0.0.7'))),
      },
    });
    expect(await sendTo(running.baseUrl, signedRequest('GET', '/protected'))).toEqual(UNAVAILABLE);
    expect(running.reports.map((report) => report.code)).toEqual(['replay_store_unavailable']);
    expect(
      logged().some((line) =>
        line.startsWith('rejected replay_store_unavailable http GET /protected'),
      ),
    ).toBe(true);
    // Another store's error message could carry anything: only its class is logged.
    expect(logged()).toContain('replay store: the store threw Error');
    expect(logged().join('\n')).not.toContain('10.0.0.7');
  });

  it('answers 503 within the deadline when the store never answers', async () => {
    running = await startReplayApp(createAdapter, {
      replay: { store: new ScriptedStore(() => new Promise(() => {})), timeoutMs: 30 },
    });
    expect(await sendTo(running.baseUrl, signedRequest('GET', '/protected'))).toEqual(UNAVAILABLE);
    expect(logged()).toContain('replay store: the replay store did not answer within 30 ms');
  });

  it('keeps token-only routes working while the store is down (they never ask it)', async () => {
    running = await startReplayApp(createAdapter, {
      replay: { store: new ScriptedStore(() => Promise.reject(new Error('down'))) },
    });
    const { 'approov-token': token } = signedRequest('GET', '/token-only').headers;
    expect(
      await sendTo(running.baseUrl, {
        method: 'GET',
        path: '/token-only',
        headers: { 'approov-token': token },
      }),
    ).toEqual(SERVED);
  });

  it('fails open when asked: serves the request and reports replay_store_unavailable with failedOpen', async () => {
    running = await startReplayApp(createAdapter, {
      replay: { store: new ScriptedStore(() => Promise.reject(new Error('down'))), failOpen: true },
    });
    expect(
      await sendTo(running.baseUrl, signedRequest('GET', '/protected'), {
        'approov-traceid': 'open-1',
      }),
    ).toEqual(SERVED);
    expect(running.reports).toEqual([
      {
        code: 'replay_store_unavailable',
        context: 'http',
        method: 'GET',
        path: '/protected',
        monitored: false,
        failedOpen: true,
        traceId: 'open-1',
      },
    ]);
    expect(logged()).toContain(
      'failed open replay_store_unavailable http GET /protected trace=open-1',
    );
  });

  it('still refuses a replay the store does see when failing open', async () => {
    running = await startReplayApp(createAdapter, { replay: { failOpen: true } });
    const captured = signedRequest('GET', '/protected');
    expect([
      await sendTo(running.baseUrl, captured),
      await sendTo(running.baseUrl, captured),
    ]).toEqual([SERVED, UNAUTHORIZED]);
  });

  it('answers 503 when the in-memory store is full of live entries, rather than forgetting one', async () => {
    running = await startReplayApp(createAdapter, { replay: { maxEntries: 2 } });
    const replies = [];
    for (let i = 0; i < 3; i++)
      replies.push(await sendTo(running.baseUrl, signedRequest('GET', '/protected')));
    expect(replies).toEqual([SERVED, SERVED, UNAVAILABLE]);
    expect(logged()).toContain(
      'replay store: the in-memory replay store is full (2 live entries): raise replay.maxEntries or use a shared store',
    );
  });

  it('warns at startup, without holding it up, when the store stays unreachable', async () => {
    const warning =
      'replay store: not reachable at startup; signed requests are answered 503 until it is.';
    const warnings = (): number => logged().filter((line) => line === warning).length;
    const before = warnings();
    // The startup check probes the store for seconds on setTimeout and Date: faked from before the
    // boot, so the test runs that window instead of waiting it out.
    fakeDateAndTimeouts();
    try {
      running = await startReplayApp(createAdapter, {
        replay: { store: new ScriptedStore(() => true, false) },
      });
      expect(warnings()).toBe(before);
      await jest.advanceTimersByTimeAsync(6_000);
      expect(warnings()).toBe(before + 1);
    } finally {
      realClock();
    }
  });

  it('closes the store when the app shuts down', async () => {
    const store = new ScriptedStore(() => true);
    running = await startReplayApp(createAdapter, { replay: { store } });
    await running.close();
    running = undefined;
    expect(store.closed).toBe(1);
  });
});

describe('replay options checked at boot', () => {
  it.each<[string, ApproovModuleOptions, string]>([
    ['replay not an object', { replay: 5 as never }, 'Approov option "replay" must be an object.'],
    [
      'an unknown replay option',
      { replay: { ttl: 5 } as never },
      'Approov option "replay.ttl" is not an option',
    ],
    [
      'a store without the store methods',
      { replay: { store: {} as never } },
      'Approov option "replay.store" must be a replay store',
    ],
    [
      'a zero deadline',
      { replay: { timeoutMs: 0 } },
      'Approov option "replay.timeoutMs" must be a number of milliseconds from 1 to 10000.',
    ],
    [
      'a fractional maxEntries',
      { replay: { maxEntries: 1.5 } },
      'Approov option "replay.maxEntries" must be an integer',
    ],
    [
      'maxEntries with a store',
      { replay: { store: new MemoryReplayStore(), maxEntries: 10 } },
      'has no effect with replay.store',
    ],
    [
      'a server skew allowance over a minute',
      { replay: { serverSkewSec: 61 } },
      'Approov option "replay.serverSkewSec" must be an integer number of seconds from 0 to 60.',
    ],
    [
      'failOpen as a string',
      { replay: { failOpen: 'yes' as never } },
      'Approov option "replay.failOpen" must be a boolean.',
    ],
    [
      'messageSigning.allowReplays as a string',
      { messageSigning: { allowReplays: 'no' as never } },
      'Approov option "messageSigning.allowReplays" must be a boolean.',
    ],
  ])('refuses %s, naming the option', async (_name, options, message) => {
    const error = await bootError(replayAppModule(options, []), express!);
    expect(error).toBeInstanceOf(ApproovConfigurationError);
    expect(error.message).toContain(message);
  });

  it('refuses @ApproovMessageSigning({ allowReplays: "no" }) where it is declared', () => {
    expect(() => ApproovMessageSigning({ allowReplays: 'no' as never })).toThrow(
      '@ApproovMessageSigning(): options.allowReplays must be a boolean.',
    );
  });
});

describe('one replay store per module instance', () => {
  it('keeps the Express and the Fastify app of this process apart when each has its own in-memory store', async () => {
    const expressApp = await startReplayApp(express!);
    const fastifyApp = await startReplayApp(fastify!);
    try {
      const captured = signedRequest('GET', '/protected');
      // Two instances, two memories: this is why several instances need a shared store.
      expect([
        await sendTo(expressApp.baseUrl, captured),
        await sendTo(fastifyApp.baseUrl, captured),
      ]).toEqual([SERVED, SERVED]);
    } finally {
      await expressApp.close();
      await fastifyApp.close();
    }
  });

  it('refuses the replay on the other app when both are given the same store', async () => {
    const store = new MemoryReplayStore();
    const expressApp = await startReplayApp(express!, { replay: { store } });
    const fastifyApp = await startReplayApp(fastify!, { replay: { store } });
    try {
      const captured = signedRequest('GET', '/protected');
      expect([
        await sendTo(expressApp.baseUrl, captured),
        await sendTo(fastifyApp.baseUrl, captured),
      ]).toEqual([SERVED, UNAUTHORIZED]);
    } finally {
      await expressApp.close();
      await fastifyApp.close();
    }
  });
});

describe('the margin a shared store keeps entries for', () => {
  it('is not added for an in-memory store: no other instance, no other clock', async () => {
    const calls: number[] = [];
    class RecordingMemoryStore extends MemoryReplayStore {
      override rememberIfAbsent(key: string, ttlMs: number): boolean {
        calls.push(ttlMs);
        return super.rememberIfAbsent(key, ttlMs);
      }
    }
    const running = await startReplayApp(express!, {
      replay: { store: new RecordingMemoryStore() },
    });
    try {
      const created = Math.floor(Date.now() / 1000);
      const before = Date.now();
      await sendTo(
        running.baseUrl,
        signedRequest('GET', '/protected', { signing: { created, expires: created + 15 } }),
      );
      expect(calls).toHaveLength(1);
      expect(calls[0]).toBeLessThanOrEqual((created + 15 + 10) * 1000 - before);
    } finally {
      await running.close();
    }
  });
});
