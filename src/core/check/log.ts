/** The levels the check writes at; a Nest app maps them onto its Logger, another host onto its own. */
export type ApproovLogLevel = 'log' | 'warn' | 'error' | 'debug';

/**
 * Where the check writes its lines (rejects, store faults, keyset changes, odd setups). Lines never
 * hold a token, a bound header's value, a secret or a key.
 */
export type ApproovLog = (level: ApproovLogLevel, message: string) => void;
