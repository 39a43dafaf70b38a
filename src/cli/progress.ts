import type { ProgressEvent } from '../services/apply-plan.ts';
import type { Output } from './output.ts';

/** A progress bar on a TTY; nothing otherwise (logs and CI stay clean). */
export function createProgress(output: Output, enabled: boolean): ((event: ProgressEvent) => void) | undefined {
  if (!enabled || !output.stderrIsTTY) return undefined;
  const started = Date.now();
  return (event) => {
    const width = 30;
    const ratio = event.total === 0 ? 1 : event.done / event.total;
    const filled = Math.round(ratio * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    output.status(
      `${event.system} ${bar} ${event.done}/${event.total} people · wave ${event.wave}/${event.waves}${event.failed > 0 ? ` · ${event.failed} failed` : ''} · ${seconds}s`,
    );
    if (event.done === event.total) output.endStatus();
  };
}
