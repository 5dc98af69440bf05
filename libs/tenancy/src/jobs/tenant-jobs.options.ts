/**
 * Options of `TenantJobsModule.forRoot()` / `forRootAsync()`: a plain object literal; the fields'
 * initialisers are the defaults.
 */
export class TenantJobsModuleOptions {
  /**
   * Secret that signs each job's tenant envelope (HMAC-SHA256), at least 32 characters; its UTF-8
   * bytes are the key. Every producer and worker of a queue needs the same one; give each
   * environment its own, and never the JWT secret. Required.
   */
  secret: string;
  /**
   * Roles a job may run as: `TenantJobs.add()` refuses to enqueue, and the worker refuses to run,
   * a job whose captured role is not listed (list here the role your scheduled work runs as, e.g.
   * `system`). Default: TenancyModule's `roles`.
   */
  roles?: readonly string[];
}
