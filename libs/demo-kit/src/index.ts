export * from './demo-tenants';
export * from './sign-token';
export * from './configure-http-app';
