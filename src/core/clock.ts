/** Seconds since the epoch, fractional: the clock every verifier uses unless a test injects one. */
export const systemClock = (): number => Date.now() / 1000;

/** The largest leeway any time check accepts, in seconds: more would make `exp` and `created` meaningless. */
export const MAX_CLOCK_TOLERANCE_SEC = 300;
