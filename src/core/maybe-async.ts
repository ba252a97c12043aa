import { isPromise } from 'node:util/types';

/** A check's result: a plain value, or a Promise only when the check really had to wait. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Runs `next` on `value` now when it is a plain value, or once it settles: a synchronous check
 * stays synchronous and allocates no Promise. (`isPromise` also recognises Promises of another realm.)
 */
export function whenSettled<T, R>(
  value: MaybePromise<T>,
  next: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return isPromise(value) ? (value as Promise<T>).then(next) : next(value as T);
}
