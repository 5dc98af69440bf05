import { QueryRunner } from 'typeorm';
import { TenantContext } from '../context/tenant-context.interface';
import { RUNNER_CONTEXT } from '../tenancy.internal-constants';

/** Reads the context a scoped query runner carries, if any. */
export function runnerContext(runner: QueryRunner | undefined): TenantContext | undefined {
  return runner?.data?.[RUNNER_CONTEXT] as TenantContext | undefined;
}
