import type { ApproovFailureCode } from '../failure.js';
import {
  checkOptionGroup,
  type OptionSchema,
  type RefuseOption,
} from '../options/option-schema.js';

/** How reject log lines are written: one per reject, or at most one per code per interval with a count. */
export type RejectLogLines = 'every' | 'summary';

export interface RejectLogOptions {
  /** 'summary' (default) or 'every'. */
  lines?: RejectLogLines;
  /** The summary interval in seconds, 1 to 3600. Default 10. */
  intervalSec?: number;
}

export const DEFAULT_REJECT_LOG_INTERVAL_SEC = 10;
export const MAX_REJECT_LOG_INTERVAL_SEC = 3600;

/** The `rejectLog` options, as data: names, types, ranges, defaults. */
export const REJECT_LOG_OPTIONS = {
  lines: { type: 'oneOf', values: ['summary', 'every'], default: 'summary' },
  intervalSec: {
    type: 'number',
    min: 1,
    max: MAX_REJECT_LOG_INTERVAL_SEC,
    unit: 'seconds',
    default: DEFAULT_REJECT_LOG_INTERVAL_SEC,
  },
} as const satisfies OptionSchema;

/** Checks the `rejectLog` option and settles its defaults. */
export function checkRejectLogOptions(
  value: unknown,
  refuse: RefuseOption,
): Required<RejectLogOptions> {
  const given = checkOptionGroup(value, REJECT_LOG_OPTIONS, 'rejectLog', refuse);
  return {
    lines: given.lines ?? REJECT_LOG_OPTIONS.lines.default,
    intervalSec: given.intervalSec ?? REJECT_LOG_OPTIONS.intervalSec.default,
  };
}
/**
 * In summary, the rejects of one code per interval that still get their own line (method,
 * path) before the rest are counted: a flood of one code cannot leave every reject unnamed.
 */
export const REJECT_LOG_FULL_LINES_PER_INTERVAL = 5;

/** Timers, injectable so tests can run the clock by hand. */
export interface RejectLogTimers {
  now(): number;
  schedule(callback: () => void, delayMs: number): { cancel(): void };
}

const systemTimers: RejectLogTimers = {
  now: () => Date.now(),
  schedule(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref(); // a pending summary never keeps the process alive
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Where a counted reject came from, named in the summary line: never a token or a header value. */
export interface RejectSource {
  /** `METHOD path` (path without its query). */
  route: string;
  /** The client address (the socket's peer), '' when unknown. */
  client: string;
  /** The client's `Approov-TraceID`, when it sent one. */
  traceId?: string;
}

/** Keys each summary keeps per code and per kind (routes, clients, trace ids): the memory bound. */
export const REJECT_SOURCE_SLOTS = 16;
/** Keys a summary line names per kind, most frequent first. */
export const REJECT_SOURCES_NAMED = 5;
/** The longest key kept, in characters: longer ones are cut (with `…`), bounding the line. */
export const REJECT_SOURCE_MAX_CHARS = 100;

/**
 * The most frequent keys of a stream in bounded memory (the space-saving algorithm): `slots`
 * counters; a new key when all are taken replaces the smallest and inherits its count plus one,
 * so a count may be over, never under, and any key seen more than 1/slots of the time is kept.
 */
export class TopKeys {
  private readonly counts = new Map<string, number>();

  constructor(private readonly slots: number) {}

  add(key: string): void {
    const count = this.counts.get(key);
    if (count !== undefined) {
      this.counts.set(key, count + 1);
      return;
    }
    if (this.counts.size < this.slots) {
      this.counts.set(key, 1);
      return;
    }
    let smallestKey = '';
    let smallest = Infinity;
    for (const [candidate, candidateCount] of this.counts) {
      if (candidateCount < smallest) {
        smallest = candidateCount;
        smallestKey = candidate;
      }
    }
    this.counts.delete(smallestKey);
    this.counts.set(key, smallest + 1);
  }

  /** The `n` largest counts, largest first (ties: first kept first). */
  top(n: number): Array<[string, number]> {
    return [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}

/** Who the counted rejects of one code came from, in bounded memory. */
class RejectSources {
  readonly routes = new TopKeys(REJECT_SOURCE_SLOTS);
  readonly clients = new TopKeys(REJECT_SOURCE_SLOTS);
  readonly traces = new TopKeys(REJECT_SOURCE_SLOTS);

  add(source: RejectSource): void {
    this.routes.add(cut(source.route));
    this.clients.add(cut(source.client || 'unknown'));
    if (source.traceId !== undefined) this.traces.add(cut(source.traceId));
  }

  /** ` routes: GET /a ×90, … clients: … traces: …`, bounded by the slots and the key length. */
  describe(): string {
    const list = (keys: TopKeys) =>
      keys
        .top(REJECT_SOURCES_NAMED)
        .map(([key, count]) => `${key} ×${count}`)
        .join(', ');
    const traces = list(this.traces);
    return (
      `; top routes: ${list(this.routes)}; top clients: ${list(this.clients)}` +
      (traces === '' ? '' : `; top traces: ${traces}`)
    );
  }
}

const cut = (key: string): string =>
  key.length > REJECT_SOURCE_MAX_CHARS ? `${key.slice(0, REJECT_SOURCE_MAX_CHARS - 1)}…` : key;

interface CodeState {
  /** Rejects of this code that got their own line in this interval. */
  lines: number;
  /** Rejects of this code since its last line, not yet written. */
  held: number;
  /** Where the held rejects came from. */
  sources: RejectSources;
  lastLineAt: number;
  timer: { cancel(): void } | null;
}

/**
 * Decides which rejects get a log line, so a flood of rejects cannot flood the log pipeline.
 * With 'summary' lines the first rejects of a code in an interval (REJECT_LOG_FULL_LINES_PER_INTERVAL)
 * are logged at once; the rest within the interval are counted, and one line per interval says how
 * many there were and names their top routes, client addresses and trace ids (bounded top-K
 * counters, so a targeted attack inside a flood of the same code still shows), until the code goes quiet.
 * With 'every', every reject is logged.
 */
export class RejectLogThrottle {
  private readonly states = new Map<ApproovFailureCode, CodeState>();
  private readonly intervalMs: number;

  constructor(
    readonly lines: RejectLogLines,
    intervalSec: number,
    /**
     * Writes a summary line: `count` rejects of `code` over the last `elapsedSec` seconds got no
     * line of their own; `sources` names where most came from (`; top routes: …`).
     */
    private readonly writeSummary: (
      code: ApproovFailureCode,
      count: number,
      elapsedSec: number,
      sources: string,
    ) => void,
    private readonly timers: RejectLogTimers = systemTimers,
  ) {
    this.intervalMs = intervalSec * 1000;
  }

  /**
   * True when this reject gets its own line now; false when it is counted into a later summary,
   * with where it came from (`source`, asked only then).
   */
  admit(code: ApproovFailureCode, source?: () => RejectSource): boolean {
    if (this.lines === 'every') return true;
    const state = this.states.get(code);
    if (state === undefined) {
      this.states.set(code, {
        lines: 1,
        held: 0,
        sources: new RejectSources(),
        lastLineAt: this.timers.now(),
        timer: this.scheduleSummary(code),
      });
      return true;
    }
    if (state.lines < REJECT_LOG_FULL_LINES_PER_INTERVAL) {
      state.lines++;
      return true;
    }
    state.held++;
    if (source !== undefined) state.sources.add(source());
    return false;
  }

  /** Writes what is held and stops the timers (at shutdown). */
  close(): void {
    for (const [code, state] of this.states) {
      state.timer?.cancel();
      if (state.held > 0)
        this.writeSummary(
          code,
          state.held,
          (this.timers.now() - state.lastLineAt) / 1000,
          state.sources.describe(),
        );
    }
    this.states.clear();
  }

  private scheduleSummary(code: ApproovFailureCode): { cancel(): void } {
    return this.timers.schedule(() => this.summarise(code), this.intervalMs);
  }

  private summarise(code: ApproovFailureCode): void {
    const state = this.states.get(code);
    if (state === undefined) return;
    if (state.held === 0) {
      // Quiet for a whole interval: the next reject of this code is logged at once again.
      this.states.delete(code);
      return;
    }
    const now = this.timers.now();
    this.writeSummary(code, state.held, (now - state.lastLineAt) / 1000, state.sources.describe());
    state.held = 0;
    state.sources = new RejectSources();
    state.lines = 0;
    state.lastLineAt = now;
    state.timer = this.scheduleSummary(code);
  }
}
