import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { isRoleName, ROLE_FORM } from './context/tenant-context.validation';
import { TenancyConfigurationError } from './errors/tenancy.error';
import { qualifiedTable, settingLiteral } from './migrations/sql';
import { DEFAULT_SETTING_NAMES } from './tenancy.constants';
import { ResolvedTenancyOptions, TenancyModuleOptions } from './tenancy-options.interface';

/** Merges defaults into the options, in this one place, and refuses unusable ones. */
export function resolveTenancyOptions(options: TenancyModuleOptions): ResolvedTenancyOptions {
  const jwt = options?.jwt ?? {};
  if (!jwt.secret && !jwt.publicKey) {
    throw new TenancyConfigurationError(
      'TenancyModule needs jwt.secret (HS256) or jwt.publicKey (RS256) to verify tokens',
    );
  }
  if (jwt.secret !== undefined && jwt.secret.length < 32) {
    throw new TenancyConfigurationError('jwt.secret must be at least 32 characters long');
  }
  const algorithms = jwt.algorithms ?? (jwt.secret ? ['HS256'] : ['RS256']);
  if (!algorithms.length || algorithms.some((a) => (a as string) === 'none')) {
    throw new TenancyConfigurationError(
      'jwt.algorithms must list real algorithms; "none" is never accepted',
    );
  }
  const key = verificationKey(jwt.secret, jwt.publicKey);
  if (!options.roles?.length) {
    throw new TenancyConfigurationError('TenancyModule needs roles: the roles a token may carry');
  }
  const badRole = options.roles.find((role) => !isRoleName(role));
  if (badRole !== undefined) {
    throw new TenancyConfigurationError(
      `roles: ${JSON.stringify(badRole)} is not a usable role name (${ROLE_FORM})`,
    );
  }
  const settings = { ...DEFAULT_SETTING_NAMES, ...options.settings };
  Object.values(settings).forEach(settingLiteral);
  if (options.requestRoleFunction !== undefined) {
    if (!options.requestRoleFunction.includes('.')) {
      throw new TenancyConfigurationError(
        `requestRoleFunction must be schema-qualified ("schema.name"), got "${options.requestRoleFunction}"`,
      );
    }
    qualifiedTable(options.requestRoleFunction);
  }
  return {
    jwt: {
      clockToleranceSeconds: 0,
      maxTokenLength: 8192,
      requireExpiry: true,
      ...jwt,
      algorithms,
      key,
    },
    roles: Object.freeze([...options.roles]),
    claims: { tenantId: 'tenant_id', userId: 'sub', role: 'role', ...options.claims },
    settings,
    tenantStatus: { cacheTtlMs: 10_000, maxEntries: 10_000, ...options.tenantStatus },
    dataSourceName: options.dataSourceName,
    startupCheck: options.startupCheck ?? 'refuse',
    catalogCheck: options.catalogCheck ?? {},
    platform: options.platform,
    rlsViolationStatus: options.rlsViolationStatus ?? 403,
    preparedSettings: options.preparedSettings ?? false,
    pgWriteBatching: options.pgWriteBatching ?? false,
    requestRoleFunction: options.requestRoleFunction,
  };
}

/** The KeyObject tokens are verified with: the secret's bytes (UTF-8), or the parsed public key. */
function verificationKey(secret?: string, publicKey?: string): KeyObject {
  if (secret !== undefined) return createSecretKey(Buffer.from(secret, 'utf8'));
  try {
    return createPublicKey(publicKey!);
  } catch (e) {
    throw new TenancyConfigurationError(
      `jwt.publicKey is not a valid public key: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
