import { createRequire } from 'node:module';

/**
 * ssh2 is loaded on first use (it is CommonJS, so synchronously): commands that never reach a
 * gateway — a 50 000-person `rac plan` among them — do not carry its ~15 MB.
 */
const require = createRequire(import.meta.url);
let ssh2Module: typeof import('ssh2') | null = null;

export function loadSsh2(): typeof import('ssh2') {
  ssh2Module ??= require('ssh2') as typeof import('ssh2');
  return ssh2Module;
}
