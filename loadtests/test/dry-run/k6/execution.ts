import { runtime } from '../runtime.ts';

/**
 * Stand-in for `k6/execution`: one VU, one iteration per scenario. The values are live, as in
 * k6: they describe the scenario the harness is running now.
 */
const scenarioInfo = () => {
  const s = runtime().scenario;
  return {
    name: s?.name ?? '',
    executor: s?.executor ?? '',
    startTime: runtime().startedAt,
    progress: 0,
    iterationInInstance: 0,
    iterationInTest: 0,
  };
};

const execution = {
  get scenario() {
    return scenarioInfo();
  },
  get vu() {
    return {
      idInInstance: 1,
      idInTest: 1,
      iterationInInstance: 0,
      iterationInScenario: 0,
      tags: {},
      metrics: { tags: {}, metadata: {} },
    };
  },
  get instance() {
    return {
      iterationsInterrupted: 0,
      iterationsCompleted: 0,
      vusActive: 1,
      vusInitialized: 1,
      currentTestRunDuration: Date.now() - runtime().startedAt,
    };
  },
  test: {
    abort(reason?: string): never {
      throw new Error(`test aborted: ${reason ?? ''}`);
    },
    fail(reason?: string): void {
      throw new Error(`test failed: ${reason ?? ''}`);
    },
    options: {},
  },
};

export default execution;
