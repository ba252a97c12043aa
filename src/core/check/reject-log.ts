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

interface CodeState {
  /** Rejects of this code that got their own line in this interval. */
  lines: number;
  /** Rejects of this code since its last line, not yet written. */
  held: number;
  lastLineAt: number;
  timer: { cancel(): void } | null;
}

/**
 * Decides which rejects get a log line, so a flood of rejects cannot flood the log pipeline.
 * With 'summary' lines the first rejects of a code in an interval (REJECT_LOG_FULL_LINES_PER_INTERVAL)
 * are logged at once; the rest within the interval are counted, and one line per interval says how many there were, until the code goes quiet.
 * With 'every', every reject is logged.
 */
export class RejectLogThrottle {
  private readonly states = new Map<ApproovFailureCode, CodeState>();
  private readonly intervalMs: number;

  constructor(
    readonly lines: RejectLogLines,
    intervalSec: number,
    /** Writes a summary line: `count` rejects of `code` over the last `elapsedSec` seconds got no line of their own. */
    private readonly writeSummary: (
      code: ApproovFailureCode,
      count: number,
      elapsedSec: number,
    ) => void,
    private readonly timers: RejectLogTimers = systemTimers,
  ) {
    this.intervalMs = intervalSec * 1000;
  }

  /** True when this reject gets its own line now; false when it is counted into a later summary. */
  admit(code: ApproovFailureCode): boolean {
    if (this.lines === 'every') return true;
    const state = this.states.get(code);
    if (state === undefined) {
      this.states.set(code, {
        lines: 1,
        held: 0,
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
    return false;
  }

  /** Writes what is held and stops the timers (at shutdown). */
  close(): void {
    for (const [code, state] of this.states) {
      state.timer?.cancel();
      if (state.held > 0)
        this.writeSummary(code, state.held, (this.timers.now() - state.lastLineAt) / 1000);
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
    this.writeSummary(code, state.held, (now - state.lastLineAt) / 1000);
    state.held = 0;
    state.lines = 0;
    state.lastLineAt = now;
    state.timer = this.scheduleSummary(code);
  }
}
