import { TenancyFoundation1764000000000 } from './1764000000000-TenancyFoundation';
import { SupportSchema1764000001000 } from './1764000001000-SupportSchema';
import { SalesSchema1764000002000 } from './1764000002000-SalesSchema';
import { AuditTrail1764000003000 } from './1764000003000-AuditTrail';
import { PlatformRole1764000004000 } from './1764000004000-PlatformRole';
import { DealsKeysetPages1764000005000 } from './1764000005000-DealsKeysetPages';
import { DealsVisibleOwnersOnce1764000006000 } from './1764000006000-DealsVisibleOwnersOnce';
import { SalesPoliciesThePlannerCanCount1764000007000 } from './1764000007000-SalesPoliciesThePlannerCanCount';
import { AuditLogAdminsOnly1764000008000 } from './1764000008000-AuditLogAdminsOnly';
import { NameOrderedPages1764000009000 } from './1764000009000-NameOrderedPages';
import { DealsPolicyPerTeamSize1764000010000 } from './1764000010000-DealsPolicyPerTeamSize';
import { SharedKeysAndTempTables1764000011000 } from './1764000011000-SharedKeysAndTempTables';
import { OpaqueAuditEntryIds1764000012000 } from './1764000012000-OpaqueAuditEntryIds';
import { SupportAgents1764000013000 } from './1764000013000-SupportAgents';
import { ReportingChains1764000013500 } from './1764000013500-ReportingChains';
import { PlainSettingPolicies1764000013600 } from './1764000013600-PlainSettingPolicies';
import { SharedArticlesNotAudited1764000013700 } from './1764000013700-SharedArticlesNotAudited';
import { DistributeForCitus1764000014000 } from './1764000014000-DistributeForCitus';

/** Every migration of the shared database, in order. New migrations are appended here. */
export const MIGRATIONS = [
  TenancyFoundation1764000000000,
  SupportSchema1764000001000,
  SalesSchema1764000002000,
  AuditTrail1764000003000,
  PlatformRole1764000004000,
  DealsKeysetPages1764000005000,
  DealsVisibleOwnersOnce1764000006000,
  SalesPoliciesThePlannerCanCount1764000007000,
  AuditLogAdminsOnly1764000008000,
  NameOrderedPages1764000009000,
  DealsPolicyPerTeamSize1764000010000,
  SharedKeysAndTempTables1764000011000,
  OpaqueAuditEntryIds1764000012000,
  SupportAgents1764000013000,
  ReportingChains1764000013500,
  PlainSettingPolicies1764000013600,
  SharedArticlesNotAudited1764000013700,
  DistributeForCitus1764000014000,
];
