import { AppError } from '../errors.ts';

function usage(option: string, message: string): AppError {
  return new AppError('RAC_USAGE_SWARM_OPTION', `${option}: ${message}`);
}

/** `--rate`: connects per second, `25` or `25/s` (also `/m` per minute), 0 < rate <= 1000. */
export function parseRate(text: string, option = '--rate'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min))?\s*$/.exec(text);
  if (!m) throw usage(option, `expected connects per second such as 25 or 25/s, got ${JSON.stringify(text)}`);
  const perUnit = Number(m[1]);
  const rate = m[2] === 'm' || m[2] === 'min' ? perUnit / 60 : perUnit;
  if (!(rate > 0) || rate > 1000) throw usage(option, `must be above 0 and at most 1000 per second, got ${text}`);
  return rate;
}

/** `--duration` and the like: `90`, `90s`, `5m`, `1h`, `1m30s`; returns milliseconds within [min, max]. */
export function parseDurationMs(text: string, option: string, bounds: { minMs: number; maxMs: number }): number {
  const trimmed = text.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
      throw usage(option, `expected a duration such as 90, 90s, 5m or 1m30s, got ${JSON.stringify(text)}`);
    }
    const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] as string] ?? 0), 0);
  }
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    throw usage(option, `must be between ${bounds.minMs / 1000}s and ${bounds.maxMs / 1000}s, got ${text}`);
  }
  return Math.round(ms);
}

/** A positive integer option within [min, max]. */
export function parseCount(text: string, option: string, bounds: { min: number; max: number }): number {
  if (!/^\d+$/.test(text.trim())) throw usage(option, `expected a whole number, got ${JSON.stringify(text)}`);
  const n = Number(text.trim());
  if (n < bounds.min || n > bounds.max)
    throw usage(option, `must be between ${bounds.min} and ${bounds.max}, got ${n}`);
  return n;
}
