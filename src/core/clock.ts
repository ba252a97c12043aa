/** The wall clock in seconds since the epoch, as JWT `exp` and signature `created` count. */
export const systemClock = (): number => Date.now() / 1000;
