import type { ApproovTokenClaims } from './approov-claims.js';

/** Verified tokens kept by default: about 10 MB for typical Approov tokens (under 1 KB each with claims). */
export const DEFAULT_CACHE_SIZE = 10_000;
/** The largest accepted `cacheSize`. */
export const MAX_CACHE_SIZE = 1_000_000;

/** A verification that passed every token check; frozen, so one request cannot alter another's. */
export interface VerifiedToken {
  readonly ok: true;
  readonly claims: Readonly<ApproovTokenClaims>;
}

/**
 * The tokens that passed every token check, most recently used last, at most `maxEntries`.
 * Failures are never stored, so a flood of bad tokens neither evicts good ones nor grows memory.
 * A hit is served only while `exp` (and `nbf`) still hold at the given time, with the same
 * tolerance as a fresh check; binding is not the cache's business (it depends on the request).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(
    readonly maxEntries: number,
    private readonly clockToleranceSec = 0,
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('VerifiedTokenCache needs a positive integer size');
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached verification of `token` if it is still within its time window at `nowSec`. */
  get(token: string, nowSec: number): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    const { exp, nbf } = entry.claims;
    const tolerance = this.clockToleranceSec;
    // The same comparisons as checkClaims. nbf only fails again if the clock steps back; cheap to keep.
    if (!(nowSec < exp + tolerance) || (nbf !== undefined && nbf > nowSec + tolerance)) {
      this.entries.delete(token);
      return undefined;
    }
    // Re-insert to mark it most recently used (a Map iterates in insertion order).
    this.entries.delete(token);
    this.entries.set(token, entry);
    return entry;
  }

  /** Stores a verification that passed every check; evicts the least recently used beyond the bound. */
  set(token: string, verified: VerifiedToken): void {
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(token, verified);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Freezes a parsed JSON value and everything in it (JSON has no cycles). */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
