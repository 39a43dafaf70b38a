import { capacityChecks } from './capacity-checks.ts';
import { capacityHome } from './capacity-home.ts';
import type { Board } from './common.ts';
import { gateways } from './gateways.ts';
import { onboarding } from './onboarding.ts';
import { DEFAULT_SITE, type SiteConfig, siteProblems } from './site.ts';

/** The four boards of a site; a site config with problems is refused with all of them listed. */
export function buildBoards(site: SiteConfig = DEFAULT_SITE): Board[] {
  const problems = siteProblems(site);
  if (problems.length > 0) throw new Error(`invalid site config:\n  ${problems.join('\n  ')}`);
  return [capacityHome(site), gateways(site), onboarding(site), capacityChecks(site)];
}

/** The committed form of a board: two-space JSON and a final newline. */
export function renderBoard(board: Board): string {
  return `${JSON.stringify(board.dashboard, null, 2)}\n`;
}
