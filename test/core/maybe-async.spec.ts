import { whenSettled } from '../../src/core/maybe-async.js';

describe('whenSettled', () => {
  it('runs the next step now on a plain value and returns its plain result', () => {
    const result = whenSettled(2, (value) => value * 3);
    expect(result).toBe(6);
  });

  it('chains on a Promise and returns a Promise of the next step', async () => {
    const result = whenSettled(Promise.resolve(2), (value) => value * 3);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe(6);
  });

  it('passes a rejection through without running the next step', async () => {
    let ran = false;
    const result = whenSettled(Promise.reject(new Error('store down')), () => {
      ran = true;
      return 1;
    });
    await expect(result).rejects.toThrow('store down');
    expect(ran).toBe(false);
  });
});
