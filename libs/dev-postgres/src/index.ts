export * from './postgres-source';
export * from './postgres-server';
export * from './database-setup';
export * from './free-port';
