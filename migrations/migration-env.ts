/** The application role the migrations grant to: `APP_DB_ROLE`, default `app_user`. */
export function appRole(): string {
  return process.env.APP_DB_ROLE ?? 'app_user';
}

/** The platform role (reads the tenant registry, nothing else): `PLATFORM_DB_ROLE`, default `tenancy_platform`. */
export function platformRole(): string {
  return process.env.PLATFORM_DB_ROLE ?? 'tenancy_platform';
}
