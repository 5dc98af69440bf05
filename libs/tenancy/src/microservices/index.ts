// nestjs-rls-tenancy/microservices: tenant-scoped message handlers on @nestjs/microservices
// (an optional peer, imported only from this entry). @TenantScoped() itself lives in the main entry.

export { TenantRmqServer, deadLetterQueueOptions } from './tenant-rmq.server';
export type { TenantRmqServerOptions } from './tenant-rmq.server';
export { TenantMessageClient } from './tenant-message.client';
export type { TenantMessageClientOptions } from './tenant-message.client';
