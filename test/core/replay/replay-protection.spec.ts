import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { ReplayStoreTimeoutError } from '../../../src/core/errors.js';
import {
  ReplayProtection,
  DEFAULT_REPLAY_TIMEOUT_MS,
} from '../../../src/core/replay/replay-protection.js';
import { MemoryReplayStore } from '../../../src/core/replay/memory-replay-store.js';
import type { ReplayStore } from '../../../src/core/replay/replay-store.js';

/** A store whose answer the test chooses: a value now, a Promise, a throw, or no answer at all. */
function scriptedStore(
  answer: () => boolean | Promise<boolean>,
): ReplayStore & { calls: Array<[string, number]> } {
  const calls: Array<[string, number]> = [];
  return {
    calls,
    rememberIfAbsent: (key, ttlMs) => {
      calls.push([key, ttlMs]);
      return answer();
    },
    checkHealth: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
}

const never = (): Promise<boolean> => new Promise(() => {});

describe('ReplayProtection', () => {
  it('gives a synchronous verdict for a synchronous store: first, then replayed', () => {
    const protection = new ReplayProtection(new MemoryReplayStore());
    expect(protection.check('k', 1000)).toBe('first');
    expect(protection.check('k', 1000)).toBe('replayed');
  });

  it('passes the key and the TTL to the store', () => {
    const store = scriptedStore(() => true);
    new ReplayProtection(store).check('the-key', 1234);
    expect(store.calls).toEqual([['the-key', 1234]]);
  });

  it('maps an asynchronous answer to first or replayed', async () => {
    await expect(
      new ReplayProtection(scriptedStore(() => Promise.resolve(true))).check('k', 1),
    ).resolves.toBe('first');
    await expect(
      new ReplayProtection(scriptedStore(() => Promise.resolve(false))).check('k', 1),
    ).resolves.toBe('replayed');
  });

  it('answers unavailable, and reports the error, when the store throws', () => {
    const errors: unknown[] = [];
    const boom = new Error('boom');
    const protection = new ReplayProtection(
      scriptedStore(() => {
        throw boom;
      }),
      { onStoreError: (error) => errors.push(error) },
    );
    expect(protection.check('k', 1)).toBe('unavailable');
    expect(errors).toEqual([boom]);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'yes'],
    ['a number', 1],
    ['an object', {}],
  ])(
    'answers unavailable, and reports it, when a store answers %s instead of a boolean',
    (_case, value) => {
      const errors: unknown[] = [];
      const protection = new ReplayProtection(
        scriptedStore(() => value as boolean),
        { onStoreError: (error) => errors.push(error) },
      );
      expect(protection.check('k', 1)).toBe('unavailable');
      expect(errors).toEqual([expect.any(TypeError)]);
    },
  );

  it('answers unavailable, and reports it, when a store resolves to something else than a boolean', async () => {
    const errors: unknown[] = [];
    const protection = new ReplayProtection(
      scriptedStore(() => Promise.resolve('yes' as unknown as boolean)),
      { onStoreError: (error) => errors.push(error) },
    );
    await expect(protection.check('k', 1)).resolves.toBe('unavailable');
    expect(errors).toEqual([expect.any(TypeError)]);
  });

  it('answers unavailable, and reports the error, when the store rejects', async () => {
    const errors: unknown[] = [];
    const boom = new Error('boom');
    const protection = new ReplayProtection(
      scriptedStore(() => Promise.reject(boom)),
      { onStoreError: (error) => errors.push(error) },
    );
    await expect(protection.check('k', 1)).resolves.toBe('unavailable');
    expect(errors).toEqual([boom]);
  });

  it('answers unavailable when the store does not answer within the deadline, and says so', async () => {
    const errors: unknown[] = [];
    const protection = new ReplayProtection(scriptedStore(never), {
      timeoutMs: 20,
      onStoreError: (error) => errors.push(error),
    });
    await expect(protection.check('k', 1)).resolves.toBe('unavailable');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ReplayStoreTimeoutError);
    expect((errors[0] as Error).message).toBe('the replay store did not answer within 20 ms');
  });

  it('ignores an answer that comes after the deadline', async () => {
    let answer: (first: boolean) => void = () => {};
    const protection = new ReplayProtection(
      scriptedStore(() => new Promise((resolve) => (answer = resolve))),
      { timeoutMs: 10 },
    );
    const verdict = protection.check('k', 1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    answer(true);
    await expect(verdict).resolves.toBe('unavailable');
  });

  it('takes an answer that arrived while the loop was busy, though the deadline passed too', async () => {
    // The answer comes by I/O, as Redis's does: a datagram to ourselves, delivered by the kernel
    // while the loop is blocked. When the loop turns, the due timer runs before the socket is read.
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const { port } = socket.address();
    try {
      const store = scriptedStore(
        () =>
          new Promise<boolean>((resolve) => {
            socket.once('message', () => resolve(true));
            socket.send('x', port, '127.0.0.1');
          }),
      );
      const verdict = new ReplayProtection(store, { timeoutMs: 1 }).check('k', 1);
      const until = Date.now() + 30;
      while (Date.now() < until);
      await expect(verdict).resolves.toBe('first');
    } finally {
      socket.close();
    }
  });

  it('has a deadline of tens of milliseconds by default', () => {
    expect(new ReplayProtection(new MemoryReplayStore()).timeoutMs).toBe(DEFAULT_REPLAY_TIMEOUT_MS);
    expect(DEFAULT_REPLAY_TIMEOUT_MS).toBe(50);
  });
});
