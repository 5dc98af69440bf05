export * from './demo-tenants';
export * from './sign-token';
export * from './configure-http-app';
export * from './audit/audit.controller';
export * from './audit/audit-query.dto';
export * from './audit/audit-entry.response';
export * from './audit/audit-list.response';
