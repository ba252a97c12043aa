import type { ApproovTokenClaims } from './claims.js';

/** Verified tokens kept by default, at most (the byte budget may hold fewer). */
export const DEFAULT_CACHE_SIZE = 10_000;
/** The largest accepted `cacheSize`. */
export const MAX_CACHE_SIZE = 1_000_000;
/** Default byte budget of the cache, as counted by entryBytes (on the high side of the real heap). */
export const DEFAULT_CACHE_MAX_BYTES = 8 * 1024 * 1024;
/** The largest accepted `cacheMaxBytes`. */
export const MAX_CACHE_MAX_BYTES = 1024 * 1024 * 1024;
/** Entries estimated above this are verified but never cached: a 4 KiB token with ordinary claims stays well under it. */
export const MAX_CACHED_ENTRY_BYTES = 16 * 1024;

/** A verification that passed every token check; frozen, so one request cannot alter another's. */
export interface VerifiedToken {
  readonly ok: true;
  readonly claims: Readonly<ApproovTokenClaims>;
}

/** One cache entry, in a doubly linked list from most to least recently used. */
interface CacheNode {
  readonly token: string;
  readonly verified: VerifiedToken;
  readonly bytes: number;
  newer: CacheNode | null;
  older: CacheNode | null;
}

// Upper bounds of V8's heap sizes on 64-bit (measured with heap snapshots, rounded up), so that
// the estimate never undercounts: a claims object full of `{}` or keys costs far more than its JSON.
const STRING_BYTES = 24;
const OBJECT_BYTES = 72;
const PROPERTY_BYTES = 40;
const ARRAY_BYTES = 64;
const ELEMENT_BYTES = 16;
const NUMBER_BYTES = 16;
/** The node, its Map slot and the frozen result wrapper. */
const ENTRY_BYTES = 256;

const stringBytes = (text: string): number => STRING_BYTES + 2 * text.length;

/**
 * Freezes a parsed JSON value and everything in it (JSON has no cycles), and returns an upper
 * bound of the heap bytes it holds: one walk for both, since a cached claim set needs both.
 */
export function freezeAndMeasure(value: unknown): number {
  if (typeof value === 'string') return stringBytes(value);
  if (typeof value === 'number') return NUMBER_BYTES;
  if (typeof value !== 'object' || value === null) return 0;
  Object.freeze(value);
  if (Array.isArray(value)) {
    let bytes = ARRAY_BYTES;
    for (const element of value) bytes += ELEMENT_BYTES + freezeAndMeasure(element);
    return bytes;
  }
  let bytes = OBJECT_BYTES;
  for (const key in value) {
    bytes +=
      PROPERTY_BYTES + stringBytes(key) + freezeAndMeasure((value as Record<string, unknown>)[key]);
  }
  return bytes;
}

/** The bytes an entry for `token` holds, given the measured size of its claims. */
export const entryBytes = (token: string, claimsBytes: number): number =>
  ENTRY_BYTES + STRING_BYTES + token.length + claimsBytes;

/**
 * The tokens that passed every token check, within `maxEntries` and `maxBytes` (an estimate
 * from the token length and the claims kept, counted on the high side), least recently used
 * evicted first: a Map for lookup plus a linked list for recency (O(1) hits, inserts and
 * evictions; V8 Maps degrade when used as the recency queue themselves). Failures are never
 * stored, so a flood of bad tokens neither evicts good ones nor grows memory. A hit is served
 * only while `exp` (and `nbf`) still hold at the given time, with the same tolerance as a fresh
 * check; binding is not the cache's business (it depends on the request).
 */
export class VerifiedTokenCache {
  private readonly nodes = new Map<string, CacheNode>();
  private newest: CacheNode | null = null;
  private oldest: CacheNode | null = null;
  private heldBytes = 0;

  constructor(
    readonly maxEntries: number,
    private readonly clockToleranceSec = 0,
    readonly maxBytes = DEFAULT_CACHE_MAX_BYTES,
    readonly maxEntryBytes = MAX_CACHED_ENTRY_BYTES,
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('VerifiedTokenCache needs a positive integer size');
    }
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError('VerifiedTokenCache needs a positive integer byte budget');
    }
  }

  get size(): number {
    return this.nodes.size;
  }

  /** The estimated bytes held now: never above maxBytes. */
  get bytes(): number {
    return this.heldBytes;
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

  /**
   * Stores a verification that passed every check, of `bytes` (see entryBytes), evicting the least
   * recently used beyond the bounds. An entry bigger than maxEntryBytes is not stored at all.
   */
  set(token: string, verified: VerifiedToken, bytes: number): void {
    const existing = this.nodes.get(token);
    if (existing !== undefined) this.remove(existing);
    if (bytes > this.maxEntryBytes || bytes > this.maxBytes) return;
    while (
      this.oldest !== null &&
      (this.nodes.size >= this.maxEntries || this.heldBytes + bytes > this.maxBytes)
    ) {
      this.remove(this.oldest);
    }
    const node: CacheNode = { token, verified, bytes, newer: null, older: null };
    this.nodes.set(token, node);
    this.heldBytes += bytes;
    this.pushNewest(node);
  }

  private remove(node: CacheNode): void {
    this.nodes.delete(node.token);
    this.heldBytes -= node.bytes;
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
  freezeAndMeasure(value);
  return value;
}
