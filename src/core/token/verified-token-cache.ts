import type { ApproovTokenClaims } from './claims.js';

/** Verified tokens kept by default: about 5 MB for typical Approov tokens (about 0.5 KB each with claims). */
export const DEFAULT_CACHE_SIZE = 10_000;
/** The largest accepted `cacheSize`. */
export const MAX_CACHE_SIZE = 1_000_000;

/** A verification that passed every token check; frozen, so one request cannot alter another's. */
export interface VerifiedToken {
  readonly ok: true;
  readonly claims: Readonly<ApproovTokenClaims>;
}

/** One cache entry, in a doubly linked list from most to least recently used. */
interface CacheNode {
  readonly token: string;
  readonly verified: VerifiedToken;
  newer: CacheNode | null;
  older: CacheNode | null;
}

/**
 * The tokens that passed every token check, at most `maxEntries`, least recently used evicted
 * first (a Map for lookup plus a linked list for recency: O(1) hits, inserts and evictions; V8
 * Maps degrade when used as the recency queue themselves, by deleting and re-adding keys).
 * Failures are never stored, so a flood of bad tokens neither evicts good ones nor grows memory.
 * A hit is served only while `exp` (and `nbf`) still hold at the given time, with the same
 * tolerance as a fresh check; binding is not the cache's business (it depends on the request).
 */
export class VerifiedTokenCache {
  private readonly nodes = new Map<string, CacheNode>();
  private newest: CacheNode | null = null;
  private oldest: CacheNode | null = null;

  constructor(
    readonly maxEntries: number,
    private readonly clockToleranceSec = 0,
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('VerifiedTokenCache needs a positive integer size');
    }
  }

  get size(): number {
    return this.nodes.size;
  }

  /** The cached verification of `token` if it is still within its time window at `nowSec`. */
  get(token: string, nowSec: number): VerifiedToken | undefined {
    const node = this.nodes.get(token);
    if (node === undefined) return undefined;
    const { exp, nbf } = node.verified.claims;
    const tolerance = this.clockToleranceSec;
    // The same comparisons as checkClaims. nbf only fails again if the clock steps back; cheap to keep.
    if (!(nowSec < exp + tolerance) || (nbf !== undefined && nbf > nowSec + tolerance)) {
      this.remove(node);
      return undefined;
    }
    if (node !== this.newest) {
      this.unlink(node);
      this.pushNewest(node);
    }
    return node.verified;
  }

  /** Stores a verification that passed every check; evicts the least recently used beyond the bound. */
  set(token: string, verified: VerifiedToken): void {
    const existing = this.nodes.get(token);
    if (existing !== undefined) this.remove(existing);
    if (this.nodes.size >= this.maxEntries && this.oldest !== null) this.remove(this.oldest);
    const node: CacheNode = { token, verified, newer: null, older: null };
    this.nodes.set(token, node);
    this.pushNewest(node);
  }

  clear(): void {
    this.nodes.clear();
    this.newest = this.oldest = null;
  }

  private remove(node: CacheNode): void {
    this.nodes.delete(node.token);
    this.unlink(node);
  }

  private unlink(node: CacheNode): void {
    if (node.newer === null) this.newest = node.older;
    else node.newer.older = node.older;
    if (node.older === null) this.oldest = node.newer;
    else node.older.newer = node.newer;
    node.newer = node.older = null;
  }

  private pushNewest(node: CacheNode): void {
    node.older = this.newest;
    if (this.newest !== null) this.newest.newer = node;
    this.newest = node;
    if (this.oldest === null) this.oldest = node;
  }
}

/** Freezes a parsed JSON value and everything in it (JSON has no cycles). */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) deepFreeze(child);
    }
  }
  return value;
}
