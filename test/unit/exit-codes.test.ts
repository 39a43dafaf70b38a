import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/core/errors.ts';

describe('exitCodeFor', () => {
  it('maps a plain usage error to 2, like its specific kinds', () => {
    expect(exitCodeFor('RAC_USAGE')).toBe(2);
    expect(exitCodeFor('RAC_USAGE_CONFIRM')).toBe(2);
    expect(exitCodeFor('RAC_USAGEX')).toBe(1);
  });
});
