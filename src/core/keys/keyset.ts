import type { AsymmetricAlgorithm } from './algorithms.js';
import { fetchJson, KeySetFetchError } from './jwks-fetch.js';
import { importJwks, JwksFormatError, type ImportedKey, type KeyCandidate } from './jwks.js';

/** How the keyset is fetched and kept; every field is checked at boot (see approov-config). */
export interface KeySetFetchOptions {
  /** Keys count as fresh this long after a successful fetch. Default 600 s. */
  ttlSec: number;
  /** Deadline of one fetch, headers and body together. Default 3,000 ms. */
  timeoutMs: number;
  /** The largest JWK Set response read, in bytes. Default 65,536. */
  maxResponseBytes: number;
  /** The least time between two fetches that an unknown `kid` (or a failure) may cause. Default 30 s. */
  cooldownSec: number;
  /** How long past the TTL keys are still used while the endpoint fails. Default 3,600 s. */
  maxStaleSec: number;
}

export const DEFAULT_KEYSET_FETCH_OPTIONS: Readonly<KeySetFetchOptions> = Object.freeze({
  ttlSec: 600,
  timeoutMs: 3_000,
  maxResponseBytes: 65_536,
  cooldownSec: 30,
  maxStaleSec: 3_600,
});

/** The background refresh runs at this fraction of the TTL, so keys are renewed before they expire. */
const REFRESH_AT_TTL_FRACTION = 0.8;
/** Keys tried for a token without `kid`: a set of many keys cannot multiply the work per token. */
export const MAX_KEYS_TRIED_WITHOUT_KID = 4;

export interface KeySetConfig extends KeySetFetchOptions {
  /** The JWKS URL (https, or http on a loopback host), already checked. */
  uri: URL;
  /** The asymmetric algorithms accepted. */
  algorithms: readonly AsymmetricAlgorithm[];
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** The fetch implementation; injectable for tests. Default the global fetch. */
  fetch?: typeof fetch;
}

/** What the key set says about the keys for one token. */
export type KeyLookup =
  | { readonly status: 'ok'; readonly candidates: readonly KeyCandidate[] }
  | { readonly status: 'unknown_kid' }
  | { readonly status: 'unavailable' };

export type KeySetEvent =
  | { type: 'loaded'; keyCount: number; skipped: readonly string[]; changed: boolean }
  | { type: 'fetch_failed'; reason: string; serving: 'stale' | 'none' };

/**
 * The key set's state, for health checks and diagnostics: times, a count and a reason, never key
 * material or the URL. `fresh` within the TTL of the last load; `stale` past it, still used while
 * the endpoint fails; `expired` past the stale limit (keyset tokens get 503); `not_loaded` before
 * the first successful fetch.
 */
export interface ApproovKeysetStatus {
  readonly state: 'fresh' | 'stale' | 'expired' | 'not_loaded';
  /** True when tokens can be verified with the keys held (`fresh` or `stale`). */
  readonly usable: boolean;
  /** Keys held from the last successful fetch; 0 before one. */
  readonly keyCount: number;
  /** When the last successful fetch ended; undefined before one. */
  readonly lastFetchAt: Date | undefined;
  /** When the keys held stop being used; undefined before a load. */
  readonly usableUntil: Date | undefined;
  /** Why the last fetch failed, when it failed (cleared by a successful fetch). */
  readonly lastError: string | undefined;
  /** When that failed fetch ended. */
  readonly lastErrorAt: Date | undefined;
}

const UNKNOWN_KID: KeyLookup = Object.freeze({ status: 'unknown_kid' });
const UNAVAILABLE: KeyLookup = Object.freeze({ status: 'unavailable' });
const NO_CANDIDATES: KeyLookup = Object.freeze({ status: 'ok', candidates: Object.freeze([]) });

interface LoadedKeys {
  byKid: Map<string, ImportedKey[]>;
  /** Candidates per algorithm for tokens without `kid`, at most MAX_KEYS_TRIED_WITHOUT_KID each. */
  byAlgorithm: Map<AsymmetricAlgorithm, KeyLookup>;
  /** A fingerprint of the set, to tell a rotation from a refresh that changed nothing. */
  fingerprint: string;
  /** When the fetch that loaded them ended (ms). */
  loadedAt: number;
  keyCount: number;
  /** After this instant (ms) the keys are too stale to use. */
  usableUntil: number;
}

/**
 * The public keys of a JWKS endpoint, held as KeyObjects and looked up synchronously per token.
 * Fetched at boot, refreshed in the background before the TTL ends, refetched at most once per
 * cooldown for an unknown `kid`, every fetch under a deadline and a size cap; the last good keys
 * are kept while the endpoint fails, up to maxStaleSec past the TTL. Never a fetch per request.
 */
export class JwksKeySet {
  private loaded: LoadedKeys | null = null;
  private inflight: Promise<boolean> | null = null;
  // Only fetches that tokens asked for count: a scheduled refresh must not delay a rotation's first token.
  private lastAskedFetchAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private fetchCount = 0;
  private lastError: { reason: string; at: number } | undefined;
  private readonly listeners: Array<(event: KeySetEvent) => void> = [];
  private readonly now: () => number;
  private readonly fetchImpl: typeof fetch;

  constructor(readonly config: KeySetConfig) {
    this.now = config.now ?? Date.now;
    this.fetchImpl = config.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Fetches started so far (for tests and diagnostics). */
  get fetches(): number {
    return this.fetchCount;
  }

  /** True while keys are loaded and not past their stale bound. */
  get hasUsableKeys(): boolean {
    return this.loaded !== null && this.now() <= this.loaded.usableUntil;
  }

  /** Where the key set stands now (see ApproovKeysetStatus). */
  status(): ApproovKeysetStatus {
    const loaded = this.loaded;
    const now = this.now();
    const state =
      loaded === null
        ? 'not_loaded'
        : now > loaded.usableUntil
          ? 'expired'
          : now > loaded.loadedAt + this.config.ttlSec * 1000
            ? 'stale'
            : 'fresh';
    return {
      state,
      usable: state === 'fresh' || state === 'stale',
      keyCount: loaded?.keyCount ?? 0,
      lastFetchAt: loaded === null ? undefined : new Date(loaded.loadedAt),
      usableUntil: loaded === null ? undefined : new Date(loaded.usableUntil),
      lastError: this.lastError?.reason,
      lastErrorAt: this.lastError === undefined ? undefined : new Date(this.lastError.at),
    };
  }

  /** Called on every load and every failed fetch; reasons never hold key material. */
  onEvent(listener: (event: KeySetEvent) => void): void {
    this.listeners.push(listener);
  }

  /** The first fetch (at boot); afterwards refreshes run by themselves until close(). */
  async start(): Promise<boolean> {
    return this.refresh();
  }

  /** Stops the background refresh; pending fetches still settle. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Fetches now, or joins the fetch in flight. Resolves true when keys were loaded. */
  refresh(): Promise<boolean> {
    if (this.inflight !== null) return this.inflight;
    this.fetchCount++;
    this.inflight = this.fetchAndLoad().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /**
   * For a `kid` the set does not hold (or when no keys are usable): a fetch, unless a token asked
   * for one less than a cooldown ago; then null, and the token is judged with the keys in memory.
   */
  refetchForUnknownKey(): Promise<boolean> | null {
    if (this.inflight !== null) return this.inflight;
    const now = this.now();
    if (now - this.lastAskedFetchAt < this.config.cooldownSec * 1000) return null;
    this.lastAskedFetchAt = now;
    return this.refresh();
  }

  /** The keys that may verify a token with this `alg` and `kid`, synchronously. */
  lookup(alg: AsymmetricAlgorithm, kid: string | undefined): KeyLookup {
    const loaded = this.loaded;
    if (loaded === null || this.now() > loaded.usableUntil) return UNAVAILABLE;
    if (kid === undefined) return loaded.byAlgorithm.get(alg) ?? NO_CANDIDATES;
    const keys = loaded.byKid.get(kid);
    if (keys === undefined) return UNKNOWN_KID;
    const candidates: KeyCandidate[] = [];
    for (const key of keys) {
      const candidate = key.candidates.get(alg);
      if (candidate !== undefined) candidates.push(candidate);
    }
    return { status: 'ok', candidates };
  }

  private async fetchAndLoad(): Promise<boolean> {
    let imported;
    try {
      const json = await fetchJson(
        this.fetchImpl,
        this.config.uri,
        this.config.timeoutMs,
        this.config.maxResponseBytes,
      );
      imported = importJwks(json, this.config.algorithms);
    } catch (error) {
      const reason =
        error instanceof KeySetFetchError || error instanceof JwksFormatError
          ? error.message
          : 'fetch failed';
      this.lastError = { reason, at: this.now() };
      this.emit({ type: 'fetch_failed', reason, serving: this.hasUsableKeys ? 'stale' : 'none' });
      this.schedule(this.config.cooldownSec * 1000);
      return false;
    }
    const fingerprint = imported.keys
      .map(
        (key) =>
          `${key.kid ?? ''}=${[...key.candidates.keys()].join(',')}:${JSON.stringify(key.keyObject.export({ format: 'jwk' }))}`,
      )
      .join('|');
    const changed = this.loaded?.fingerprint !== fingerprint;
    const loadedAt = this.now();
    this.loaded = index(
      imported.keys,
      fingerprint,
      loadedAt,
      loadedAt + (this.config.ttlSec + this.config.maxStaleSec) * 1000,
    );
    this.lastError = undefined;
    this.emit({
      type: 'loaded',
      keyCount: imported.keys.length,
      skipped: imported.skipped,
      changed,
    });
    this.schedule(this.config.ttlSec * 1000 * REFRESH_AT_TTL_FRACTION);
    return true;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delayMs);
    // A refresh timer must never keep the process alive on its own.
    this.timer.unref();
  }

  private emit(event: KeySetEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function index(
  keys: readonly ImportedKey[],
  fingerprint: string,
  loadedAt: number,
  usableUntil: number,
): LoadedKeys {
  const byKid = new Map<string, ImportedKey[]>();
  const perAlgorithm = new Map<AsymmetricAlgorithm, KeyCandidate[]>();
  for (const key of keys) {
    if (key.kid !== undefined) {
      const list = byKid.get(key.kid);
      if (list === undefined) byKid.set(key.kid, [key]);
      else list.push(key);
    }
    for (const [alg, candidate] of key.candidates) {
      const list = perAlgorithm.get(alg) ?? [];
      if (list.length < MAX_KEYS_TRIED_WITHOUT_KID) list.push(candidate);
      perAlgorithm.set(alg, list);
    }
  }
  const byAlgorithm = new Map<AsymmetricAlgorithm, KeyLookup>();
  for (const [alg, candidates] of perAlgorithm)
    byAlgorithm.set(alg, Object.freeze({ status: 'ok', candidates }));
  return { byKid, byAlgorithm, fingerprint, loadedAt, keyCount: keys.length, usableUntil };
}
