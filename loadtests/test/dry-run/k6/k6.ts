import { addSample, runtime } from '../runtime.ts';

/** Stand-in for `k6`: check, sleep, fail, group. */

export function check<T>(
  value: T,
  sets: Record<string, (v: T) => unknown>,
  tags: Record<string, string> = {},
): boolean {
  const r = runtime();
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    const ok = Boolean(fn(value));
    all &&= ok;
    const record = r.checks.get(name) ?? { passes: 0, fails: 0 };
    if (ok) record.passes++;
    else record.fails++;
    r.checks.set(name, record);
    addSample('checks', ok ? 1 : 0, { check: name, ...tags });
  }
  return all;
}

export function sleep(seconds: number): void {
  const r = runtime();
  const ms = Math.max(0, seconds * 1000);
  if (ms > r.maxSleepMs) r.shortenedSleeps.push(ms);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(ms, r.maxSleepMs));
}

export function fail(message?: string): never {
  throw new Error(message ?? 'fail() called');
}

export function group<T>(_name: string, fn: () => T): T {
  return fn();
}

export default { check, sleep, fail, group };
