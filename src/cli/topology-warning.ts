import type { ServiceDeps } from '../services/deps.ts';
import { topologyState, unrecordedTopologyWarning } from '../services/topology.ts';
import type { Output } from './output.ts';

/** Says so (on stderr) when the config's topology is not the recorded one; changes nothing. */
export function warnUnrecordedTopology(output: Output, deps: Pick<ServiceDeps, 'config' | 'store'>): void {
  const lines = unrecordedTopologyWarning(topologyState(deps));
  if (lines !== null) for (const line of lines) output.note(line);
}
