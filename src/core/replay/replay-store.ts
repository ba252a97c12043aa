/**
 * Where verified signed requests are remembered, so that a second sighting can be refused. One
 * atomic operation: instances sharing a store then agree on which sighting was the first.
 */
export interface ReplayStore {
  /**
   * Remembers `key` for `ttlMs` milliseconds unless it is remembered already. True when it was
   * not (a first sighting), false when it was (a replay). Throws or rejects when the store cannot
   * answer; it may answer synchronously (in memory) or with a Promise (over the network).
   */
  rememberIfAbsent(key: string, ttlMs: number): boolean | Promise<boolean>;
  /** True when the store can answer now: for health checks and a warning at boot. */
  checkHealth(): Promise<boolean>;
  /** Releases what the store opened itself (a connection it made); the app's own client stays open. */
  close(): Promise<void>;
}
