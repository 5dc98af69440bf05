// `nestjs-rls-tenancy/transactional`: the @nestjs-cls/transactional adapter. A subpath of its own,
// so that the main entry point neither loads nor types against that optional peer.

export { TenancyTransactionalAdapter } from './tenancy-transactional.adapter';
export type {
  TenancyTransactionalAdapterOptions,
  TenancyTransactionOptions,
} from './tenancy-transactional.adapter';
