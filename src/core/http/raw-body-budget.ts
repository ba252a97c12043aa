// What the raw-body captures of one server may hold, and who may hold it.

/**
 * The bytes all captures of one server may hold together (or the per-request limit, if larger).
 * Only a request whose token verified may draw on all of it; see RawBodyBudget for the shares.
 */
export const DEFAULT_MAX_HELD_BYTES = 64 * 1024 * 1024;

/**
 * How far a request is trusted when its capture starts: `verified` (its token verified),
 * `pending` (its token may verify once the keyset is fetched again: an unknown `kid`), or
 * `refused` (no token, or one that fails: the guard rejects it before it needs a body).
 */
export type RawBodyAdmission = 'verified' | 'pending' | 'refused' | VerifiedDevice;
/** A verified token that names its device: its body counts against that device's share. */
export interface VerifiedDevice {
  readonly device: string;
}

/**
 * The bytes held by the captures of one server, against one bound, in shares a stranger cannot
 * take: one client (a verified token's device, or else an address) holds at most a quarter of it
 * (at least one request's limit), and requests whose token is only `pending` hold together at
 * most a sixteenth (each client a quarter of that). A capture that would go past its share
 * settles `over_budget` (503).
 */
export class RawBodyBudget {
  held = 0;
  pendingHeld = 0;
  readonly clientLimit: number;
  readonly pendingLimit: number;
  readonly pendingClientLimit: number;
  private readonly byClient = new Map<string, number>();

  constructor(
    readonly limit: number,
    requestLimit = 0,
  ) {
    this.clientLimit = Math.max(requestLimit, Math.floor(limit / 4));
    this.pendingLimit = Math.floor(limit / 16);
    this.pendingClientLimit = Math.floor(this.pendingLimit / 4);
  }

  /** The bytes one client holds now. */
  heldBy(client: string): number {
    return this.byClient.get(client) ?? 0;
  }

  /** Counts `bytes` for `client`; false (nothing counted) when a share would be exceeded. */
  take(client: string, pending: boolean, bytes: number): boolean {
    const byClient = this.heldBy(client);
    if (this.held + bytes > this.limit) return false;
    if (pending) {
      if (this.pendingHeld + bytes > this.pendingLimit) return false;
      if (byClient + bytes > this.pendingClientLimit) return false;
      this.pendingHeld += bytes;
    } else if (byClient + bytes > this.clientLimit) return false;
    this.held += bytes;
    this.byClient.set(client, byClient + bytes);
    return true;
  }

  /** Gives back what take() counted. */
  give(client: string, pending: boolean, bytes: number): void {
    if (bytes === 0) return;
    this.held -= bytes;
    if (pending) this.pendingHeld -= bytes;
    const left = this.heldBy(client) - bytes;
    if (left > 0) this.byClient.set(client, left);
    else this.byClient.delete(client);
  }
}
