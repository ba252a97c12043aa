import type { ChildProcess } from 'node:child_process';

export function stopChild(child: ChildProcess, graceMs?: number): Promise<void>;
