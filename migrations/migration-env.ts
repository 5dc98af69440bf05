/** The application role the migrations grant to: `APP_DB_ROLE`, default `app_user`. */
export function appRole(): string {
  return process.env.APP_DB_ROLE ?? 'app_user';
}
