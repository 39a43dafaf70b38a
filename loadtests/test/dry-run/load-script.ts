import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { K6MetricType } from '../../../src/core/capacity-check/threshold-expression.ts';
import { registerBuiltins, runtime } from './runtime.ts';

/** The k6 modules the capacity check uses, each mapped to its smallest stand-in. */
const STAND_INS: Readonly<Record<string, string>> = {
  k6: './k6/k6.ts',
  'k6/http': './k6/http.ts',
  'k6/metrics': './k6/metrics.ts',
  'k6/execution': './k6/execution.ts',
  'k6/x/ldap': './k6/x-ldap.ts',
};

let hooked = false;

function hookK6Modules(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'k6' || specifier.startsWith('k6/')) {
        const standIn = STAND_INS[specifier];
        if (standIn === undefined)
          throw new Error(`dry run: the script imports ${specifier}, which has no stand-in here`);
        return { url: new URL(standIn, import.meta.url).href, shortCircuit: true };
      }
      return next(specifier, context);
    },
  });
}

export interface LoadedScript {
  readonly path: string;
  readonly module: Record<string, unknown>;
  readonly options: unknown;
  readonly declaredMetrics: ReadonlyMap<string, K6MetricType>;
  readonly exportedFunctions: ReadonlySet<string>;
}

/**
 * Runs a k6 script's init context in Node, as k6 would: __ENV, open() relative to the script,
 * k6 modules through stand-ins. Returns its exports and the custom metrics it declared.
 */
export async function loadScript(path: string, env: Readonly<Record<string, string>>): Promise<LoadedScript> {
  hookK6Modules();
  const absolute = resolve(path);
  const g = globalThis as Record<string, unknown>;
  g['__ENV'] = { ...env };
  g['__VU'] = 0;
  g['__ITER'] = 0;
  g['open'] = (file: string) => readFileSync(resolve(dirname(absolute), file), 'utf8');
  registerBuiltins();
  const builtins = new Set(runtime().metrics.keys());
  const module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  const declaredMetrics = new Map<string, K6MetricType>();
  for (const [name, m] of runtime().metrics) if (!builtins.has(name)) declaredMetrics.set(name, m.type);
  const exportedFunctions = new Set(
    Object.entries(module)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k),
  );
  return { path: absolute, module, options: module['options'], declaredMetrics, exportedFunctions };
}
