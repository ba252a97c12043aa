import cluster from 'node:cluster';
import type { ApproovRequestLike } from '../http/request.js';
import type { ApproovFailureCode } from '../failure.js';
import { whenSettled, type MaybePromise } from '../maybe-async.js';
import type { SignedRequestIdentity } from '../message-signing/replay-identity.js';
import type { MessageSignatureResult } from '../message-signing/verify.js';
import { MemoryReplayStore } from '../replay/memory-replay-store.js';
import type { ResolvedReplayOptions } from '../replay/replay-options.js';
import { ReplayStoreUnavailableError } from '../errors.js';
import { ReplayProtection, type ReplayVerdict } from '../replay/replay-protection.js';
import type { ReplayStore } from '../replay/replay-store.js';
import type { ApproovLog } from './log.js';

// Store faults come in floods (every request while Redis is down): one warning per interval.
const STORE_WARNING_INTERVAL_MS = 10_000;
// Once per process, however many modules boot in it.
let warnedClusterWorker = false;
const REPLAYED: MessageSignatureResult = Object.freeze({
  ok: false,
  code: 'signature_replayed' as ApproovFailureCode,
});
const STORE_UNAVAILABLE: MessageSignatureResult = Object.freeze({
  ok: false,
  code: 'replay_store_unavailable' as ApproovFailureCode,
});

/**
 * The replay check of verified signed requests: remembers each request's
 * identity in the store until its signature could no longer pass, turns the verdict into a
 * result (a replay is a 401, no answer a 503 unless failing open), and warns about store faults
 * without flooding the log.
 */
export class SignedRequestReplayCheck {
  readonly store: ReplayStore;
  private readonly protection: ReplayProtection;
  private readonly failOpen: boolean;
  /** Null for a store in this process; else the allowance for other instances' clocks. */
  private readonly serverSkewMs: number | null;
  private lastStoreWarningAt = -Infinity;
  private suppressedWarnings = 0;

  constructor(
    options: ResolvedReplayOptions,
    private readonly log: ApproovLog,
    private readonly reportFailedOpen: (request: ApproovRequestLike) => void,
    private readonly nowMs: () => number = Date.now,
    inClusterWorker: boolean = cluster.isWorker,
  ) {
    this.store = options.store ?? new MemoryReplayStore({ maxEntries: options.maxEntries });
    // A store in this process serves no other instance, so no other clock: no margin, no longer-held entries.
    this.serverSkewMs =
      this.store instanceof MemoryReplayStore ? null : options.serverSkewSec * 1000;
    if (this.store instanceof MemoryReplayStore && inClusterWorker && !warnedClusterWorker) {
      warnedClusterWorker = true;
      this.log(
        'warn',
        'replay protection: the in-memory replay store runs in a cluster worker; each worker remembers only the ' +
          'requests it saw, so a replay sent to another worker passes. Give the replay.store option a shared store (RedisReplayStore).',
      );
    }
    this.failOpen = options.failOpen;
    this.protection = new ReplayProtection(this.store, {
      timeoutMs: options.timeoutMs,
      onStoreError: (error) => this.warnStoreError(error),
    });
  }

  /** The verdict on a request whose signature just passed: the same result, or a replay / store failure. */
  judge(
    request: ApproovRequestLike,
    verified: MessageSignatureResult,
    identity: SignedRequestIdentity,
  ): MaybePromise<MessageSignatureResult> {
    const ttlMs = identity.passableUntilMs - this.nowMs() + this.sharedStoreMarginMs(identity);
    return whenSettled(this.protection.check(identity.digest, ttlMs), (verdict: ReplayVerdict) => {
      if (verdict === 'first') return verified;
      if (verdict === 'replayed') return REPLAYED;
      if (!this.failOpen) return STORE_UNAVAILABLE;
      this.reportFailedOpen(request);
      return verified;
    });
  }

  /**
   * How much longer than its signature can pass a shared store keeps a request: another instance
   * whose clock is behind passes a replayed signature after this one's deadline, and must still
   * find it. Its clock is allowed to be as wrong as a phone's (the signature's clock tolerance),
   * plus `replay.serverSkewSec` between servers. Zero for the in-memory store.
   */
  sharedStoreMarginMs(identity: SignedRequestIdentity): number {
    return this.serverSkewMs === null ? 0 : identity.clockToleranceMs + this.serverSkewMs;
  }

  private warnStoreError(error: unknown): void {
    const now = this.nowMs();
    if (now - this.lastStoreWarningAt < STORE_WARNING_INTERVAL_MS) {
      this.suppressedWarnings++;
      return;
    }
    const suppressed =
      this.suppressedWarnings > 0
        ? ` (and ${this.suppressedWarnings} more since the last warning)`
        : '';
    this.lastStoreWarningAt = now;
    this.suppressedWarnings = 0;
    this.log('warn', `replay store: ${describeStoreError(error)}${suppressed}`);
  }
}

// A Node system error's code (ECONNREFUSED, ETIMEDOUT): a short word that says what happened.
const ERRNO_CODE_RE = /^E[A-Z0-9_]{1,30}$/;

/**
 * Our own errors say what happened; another store's message could carry anything (a host, a
 * password), so only its class, and its code when it is an errno-like word.
 */
function describeStoreError(error: unknown): string {
  if (error instanceof ReplayStoreUnavailableError) return error.message;
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  const kind = typeof name === 'string' && /^\w{1,64}$/.test(name) ? name : 'an error';
  return typeof code === 'string' && ERRNO_CODE_RE.test(code)
    ? `the store threw ${kind} (${code})`
    : `the store threw ${kind}`;
}
