import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { memberUids } from '../../infra/local/ldapsearch.ts';
import type { Services } from '../../src/compose.ts';
import { createBatchRunner } from '../../src/services/batch-runner.ts';
import { planRoster } from '../../src/services/plan-batch.ts';
import { gatedDirectory } from '../support/gated-directory.ts';
import { type RacEnv, rosterFor, startRacEnv } from '../support/rac-env.ts';

const company = generateCompany(40, { seed: 5 });

describe('a background batch stopped by a shutdown, on a real slapd', () => {
  let env: RacEnv;
  let services: Services;

  beforeAll(async () => {
    env = await startRacEnv({ people: company });
    services = env.services();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('is checkpointed between waves and resumed by the next start, with nothing written twice', async () => {
    const gated = gatedDirectory(services.directory);
    const deps = { ...services, directory: gated.directory, actor: 'token:ops' };
    const plan = await planRoster(deps, {
      bytes: new TextEncoder().encode(rosterFor(company, () => ({ tier: 'vpn' }))),
      file: null,
    });
    services.store.savePlan(plan);
    const first = createBatchRunner(deps);
    const batchId = await first.start(deps, plan, { waveSize: 10 });
    expect(first.running()).toEqual({ batchId, planId: plan.id });

    // Shutdown while wave 1 is writing: that wave finishes, no other starts.
    const checkpointed = first.checkpoint();
    gated.open();
    await checkpointed;
    expect(first.running()).toBeNull();
    expect(services.store.getBatch(batchId)?.status).toBe('partial');
    const items = services.store.getItems(batchId);
    expect(items.filter((i) => i.outcome === 'applied')).toHaveLength(10);
    expect(services.store.service.unfinishedServiceBatches()).toMatchObject([{ batchId, state: 'checkpointed' }]);

    // The next process.
    const next = createBatchRunner(services);
    expect(await next.resumeUnfinished(services)).toEqual([batchId]);
    for (let i = 0; i < 200 && next.running() !== null; i++) await new Promise((r) => setTimeout(r, 25));
    expect(next.progress(batchId)).toMatchObject({ running: false, items: { applied: 40, pending: 0, failed: 0 } });
    expect(services.store.getBatch(batchId)).toMatchObject({ status: 'applied', runs: 2 });
    expect(services.store.service.unfinishedServiceBatches()).toEqual([]);
    expect((await memberUids(env.directory, 'vpn')).size).toBe(40);
    const grants = services.store.listAudit({ batchId }).filter((a) => a.action === 'access.grant');
    expect(grants).toHaveLength(40);
    expect(new Set(grants.map((g) => g.uid)).size).toBe(40);
    expect(new Set(grants.map((g) => g.actor))).toEqual(new Set(['token:ops']));
    expect(services.store.listAudit({ batchId, action: 'batch.resume' })).toHaveLength(1);
  });
});
