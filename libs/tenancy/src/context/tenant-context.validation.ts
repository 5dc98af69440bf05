import { randomUUID } from 'node:crypto';
import { InvalidTenantContextError } from '../errors/tenancy-errors';
import { TenantContext } from './tenant-context.interface';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROLE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** What a role must look like, in words (for error messages). */
export const ROLE_FORM = '1-64 letters, digits, "_", "-" or "." starting with a letter';

/** True when `value` is a usable role name: {@link ROLE_FORM}. */
export function isRoleName(value: unknown): value is string {
  return typeof value === 'string' && ROLE.test(value);
}

/** True when `value` is a canonical uuid string. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Throws InvalidTenantContextError unless the tenant and user are uuids and the role a role name. */
export function assertContextForm(context: TenantContext): void {
  if (!isUuid(context?.tenantId)) throw new InvalidTenantContextError('tenantId must be a uuid');
  if (!isUuid(context.userId)) throw new InvalidTenantContextError('userId must be a uuid');
  if (!isRoleName(context.role)) throw new InvalidTenantContextError(`role must be ${ROLE_FORM}`);
}

/** Checks a context before it may reach the database; returns a frozen, normalised copy. */
export function validTenantContext(context: TenantContext): TenantContext {
  assertContextForm(context);
  const requestId = isRequestId(context.requestId) ? context.requestId : randomUUID();
  return Object.freeze({
    tenantId: context.tenantId.toLowerCase(),
    userId: context.userId.toLowerCase(),
    role: context.role,
    requestId,
  });
}

/** True for a usable request id: 1-128 letters, digits, '.', '_', ':' or '-'. */
export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(value);
}
