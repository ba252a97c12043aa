// Child-process helpers shared by the repository's plain-ESM runners (scripts/, consumers/).
import { once } from 'node:events';

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`; resolves once it has exited. */
export async function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
