import { describe, expect, it } from 'vitest';
import { countFindings, doctorExitCode, type Finding } from '../../../src/core/doctor/findings.ts';

const f = (check: string, status: Finding['status']): Finding => ({
  check,
  target: 't',
  status,
  detail: '',
  fix: null,
});

describe('doctorExitCode', () => {
  it('is 0 when nothing failed, warnings and unchecked items included', () => {
    expect(
      doctorExitCode([f('directory.bind', 'ok'), f('directory.tls', 'warn'), f('directory.paged-reads', 'skipped')]),
    ).toBe(0);
  });

  it('is 2 when a check that blocks an apply failed', () => {
    expect(doctorExitCode([f('directory.bind', 'ok'), f('openvpn.ccd-symlink', 'fail')])).toBe(2);
  });

  it('is 6 when the directory or a host could not be reached, whatever else failed', () => {
    expect(doctorExitCode([f('openvpn.ccd-symlink', 'fail'), f('host.reachable', 'fail')])).toBe(6);
    expect(doctorExitCode([f('directory.reachable', 'fail')])).toBe(6);
    expect(doctorExitCode([f('host.reachable', 'ok'), f('host.pin', 'fail')])).toBe(2);
  });

  it('counts findings by status', () => {
    expect(countFindings([f('a', 'ok'), f('b', 'ok'), f('c', 'fail')])).toEqual({
      ok: 2,
      warn: 0,
      fail: 1,
      skipped: 0,
    });
  });
});
