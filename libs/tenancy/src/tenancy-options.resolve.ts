import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { isRoleName, ROLE_FORM } from './context/tenant-context.validation';
import { TenancyConfigurationError } from './errors/tenancy.error';
import { qualifiedTable, settingLiteral } from './migrations/sql';
import {
  ResolvedJwtOptions,
  ResolvedReplicaOptions,
  ResolvedTenancyOptions,
  TenancyClaimNames,
  TenancyJwtOptions,
  TenancyModuleOptions,
  TenancyReplicaOptions,
  TenancySettingNames,
  TenantStatusOptions,
} from './tenancy.options';

/**
 * Merges the defaults (the option classes' field initialisers) into the options, in this one
 * place, `{ ...new X(), ...given }` per group, and refuses unusable ones. A field given as
 * `undefined` takes its default.
 */
export function resolveTenancyOptions(given: TenancyModuleOptions): ResolvedTenancyOptions {
  const jwt =
    given?.jwt === undefined && given?.resolveTenantContext !== undefined
      ? undefined
      : resolveJwtOptions(given?.jwt);
  if (!given.roles?.length) {
    throw new TenancyConfigurationError('TenancyModule needs roles: the roles a token may carry');
  }
  const badRole = given.roles.find((role) => !isRoleName(role));
  if (badRole !== undefined) {
    throw new TenancyConfigurationError(
      `roles: ${JSON.stringify(badRole)} is not a usable role name (${ROLE_FORM})`,
    );
  }
  if (
    given.resolveTenantContext !== undefined &&
    typeof given.resolveTenantContext !== 'function'
  ) {
    throw new TenancyConfigurationError(
      'resolveTenantContext must be a function of the ExecutionContext returning { tenantId, userId, role }',
    );
  }
  const options = { ...new TenancyModuleOptions(), ...defined(given) };
  const settings = { ...new TenancySettingNames(), ...defined(options.settings) };
  Object.values(settings).forEach(settingLiteral);
  if (options.requestRoleFunction !== undefined) {
    if (!options.requestRoleFunction.includes('.')) {
      throw new TenancyConfigurationError(
        `requestRoleFunction must be schema-qualified ("schema.name"), got "${options.requestRoleFunction}"`,
      );
    }
    qualifiedTable(options.requestRoleFunction);
  }
  if (!['set-config', 'set-local'].includes(options.contextStatement as string)) {
    throw new TenancyConfigurationError(
      `contextStatement must be 'set-config' or 'set-local', got ${JSON.stringify(options.contextStatement)}`,
    );
  }
  if (options.contextStatement === 'set-local' && options.preparedSettings) {
    throw new TenancyConfigurationError(
      "preparedSettings prepares the one set_config() statement: it does not apply to contextStatement: 'set-local' (leave it off)",
    );
  }
  return {
    ...options,
    jwt,
    roles: Object.freeze([...options.roles]),
    claims: { ...new TenancyClaimNames(), ...defined(options.claims) },
    settings,
    tenantStatus: { ...new TenantStatusOptions(), ...defined(options.tenantStatus) },
    replicas: resolveReplicaOptions(options.replicas),
  } as ResolvedTenancyOptions;
}

/** The replica options with their defaults; refuses unusable ones. */
function resolveReplicaOptions(given: TenancyReplicaOptions | undefined): ResolvedReplicaOptions {
  const replicas = { ...new TenancyReplicaOptions(), ...defined(given) } as ResolvedReplicaOptions;
  if (!['primary', 'fail'].includes(replicas.whenUnavailable)) {
    throw new TenancyConfigurationError(
      `replicas.whenUnavailable must be 'primary' or 'fail', got ${JSON.stringify(replicas.whenUnavailable)}`,
    );
  }
  if (!['user', 'tenant'].includes(replicas.readYourWritesBy)) {
    throw new TenancyConfigurationError(
      `replicas.readYourWritesBy must be 'user' or 'tenant', got ${JSON.stringify(replicas.readYourWritesBy)}`,
    );
  }
  for (const field of ['maxLagMs', 'healthTtlMs', 'readYourWritesMs'] as const) {
    const value = replicas[field];
    if (!Number.isFinite(value) || value < 0) {
      throw new TenancyConfigurationError(
        `replicas.${field} must be a number of milliseconds >= 0, got ${String(value)}`,
      );
    }
  }
  return replicas;
}

/** The JWT strategy's options with their defaults, its key built once; refuses unusable ones. */
function resolveJwtOptions(given: TenancyJwtOptions | undefined): ResolvedJwtOptions {
  const jwt = { ...new TenancyJwtOptions(), ...defined(given) };
  if (!jwt.secret && !jwt.publicKey) {
    throw new TenancyConfigurationError(
      'TenancyModule needs jwt.secret (HS256) or jwt.publicKey (RS256) to verify tokens, or resolveTenantContext to authenticate requests itself',
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
  return {
    ...jwt,
    algorithms,
    key: verificationKey(jwt.secret, jwt.publicKey),
  } as ResolvedJwtOptions;
}

/** `given` without the fields whose value is `undefined`, so that those keep their default. */
export function defined<T extends object>(given: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(given ?? {}).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
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
