import type { Finding, FindingStatus } from '../../core/doctor/findings.ts';
import { AppError } from '../../core/errors.ts';

export const make = (check: string, target: string, status: FindingStatus, detail: string, fix: string | null = null) =>
  ({ check, target, status, detail, fix }) satisfies Finding;

export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
export const codeOf = (err: unknown) => (err instanceof AppError ? err.code : '');
