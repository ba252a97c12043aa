import { ReplayStoreUnavailableError } from '../errors.js';
import type { ReplayStore } from './replay-store.js';

/** Default bound of the in-memory store (its size when full is measured by `npm run bench:replay`). */
export const DEFAULT_MEMORY_REPLAY_MAX_ENTRIES = 100_000;
export const MAX_MEMORY_REPLAY_MAX_ENTRIES = 10_000_000;
// Entries checked at the head of the queue on each insert: keeps the store tidy without a full sweep.
const HEAD_EVICTIONS_PER_INSERT = 2;
const INITIAL_QUEUE_CAPACITY = 1024;

export interface MemoryReplayStoreOptions {
  /** Most entries kept at once. Default 100,000. */
  maxEntries?: number;
  /** Clock in epoch milliseconds; for tests. */
  now?: () => number;
}

/**
 * One process's memory of seen requests: a Map of key to expiry for lookups, and the keys in
 * arrival order in a ring for eviction (a Map used as a queue gets slow: every deleted entry
 * stays a hole that iteration from the front must skip until V8 rehashes). Entries past expiry
 * are evicted oldest first. When full of live entries a new key is refused (the store reports
 * itself unavailable) rather than forgetting a live one, which would let that request be replayed.
 * Good for one instance; several instances need a shared store.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly maxEntries: number;
  private readonly expiries = new Map<string, number>();
  private queue: (string | undefined)[] = new Array<string | undefined>(INITIAL_QUEUE_CAPACITY);
  private head = 0;
  private readonly now: () => number;
  // When full of live entries, no sweep can free anything before the earliest of them expires.
  private nothingExpiresBefore = 0;
  // Built once: a flood against a full store must not cost a stack trace per request.
  private readonly fullError: ReplayStoreUnavailableError;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_MEMORY_REPLAY_MAX_ENTRIES;
    if (
      !Number.isSafeInteger(maxEntries) ||
      maxEntries < 1 ||
      maxEntries > MAX_MEMORY_REPLAY_MAX_ENTRIES
    ) {
      throw new RangeError(
        `maxEntries must be an integer from 1 to ${MAX_MEMORY_REPLAY_MAX_ENTRIES}`,
      );
    }
    this.maxEntries = maxEntries;
    this.now = options.now ?? Date.now;
    this.fullError = new ReplayStoreUnavailableError(
      `the in-memory replay store is full (${maxEntries} live entries): raise replay.maxEntries or use a shared store`,
    );
  }

  rememberIfAbsent(key: string, ttlMs: number): boolean {
    const now = this.now();
    const expiresAt = now + Math.max(1, ttlMs);
    const known = this.expiries.get(key);
    if (known !== undefined) {
      if (known > now) return false;
      // Expired but not yet evicted: renew it in place, keeping its place in the queue.
      this.expiries.set(key, expiresAt);
      this.noteExpiry(expiresAt);
      return true;
    }
    this.evictExpiredHead(now);
    if (this.expiries.size >= this.maxEntries && !this.sweep(now)) throw this.fullError;
    this.expiries.set(key, expiresAt);
    this.enqueue(key);
    this.noteExpiry(expiresAt);
    return true;
  }

  /** Entries held now, expired ones not yet evicted included. */
  get size(): number {
    return this.expiries.size;
  }

  checkHealth(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.expiries.clear();
    this.queue = new Array<string | undefined>(INITIAL_QUEUE_CAPACITY);
    this.head = 0;
    return Promise.resolve();
  }

  private noteExpiry(expiresAt: number): void {
    if (expiresAt < this.nothingExpiresBefore) this.nothingExpiresBefore = expiresAt;
  }

  // The queue holds exactly the Map's keys, oldest at `head`; it doubles when full, up to maxEntries.
  private enqueue(key: string): void {
    const count = this.expiries.size - 1;
    if (count === this.queue.length) {
      const grown = new Array<string | undefined>(Math.min(this.queue.length * 2, this.maxEntries));
      for (let i = 0; i < count; i++) grown[i] = this.queue[(this.head + i) % this.queue.length];
      this.queue = grown;
      this.head = 0;
    }
    this.queue[(this.head + count) % this.queue.length] = key;
  }

  private evictExpiredHead(now: number): void {
    for (let budget = HEAD_EVICTIONS_PER_INSERT; budget > 0 && this.expiries.size > 0; budget--) {
      const key = this.queue[this.head]!;
      if (this.expiries.get(key)! > now) return;
      this.expiries.delete(key);
      this.queue[this.head] = undefined;
      this.head = (this.head + 1) % this.queue.length;
    }
  }

  /** Evicts every expired entry, keeping the order of the rest; true when room was made. */
  private sweep(now: number): boolean {
    if (now < this.nothingExpiresBefore) return false;
    const count = this.expiries.size;
    const capacity = this.queue.length;
    let kept = 0;
    let earliest = Infinity;
    for (let i = 0; i < count; i++) {
      const key = this.queue[(this.head + i) % capacity]!;
      const expiresAt = this.expiries.get(key)!;
      if (expiresAt <= now) {
        this.expiries.delete(key);
        continue;
      }
      if (expiresAt < earliest) earliest = expiresAt;
      this.queue[(this.head + kept++) % capacity] = key;
    }
    // Drop the references the compaction left behind, so evicted keys can be collected.
    for (let i = kept; i < count; i++) this.queue[(this.head + i) % capacity] = undefined;
    this.nothingExpiresBefore = earliest;
    return this.expiries.size < this.maxEntries;
  }
}
