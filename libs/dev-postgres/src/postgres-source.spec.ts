import { selectPostgresSource } from './postgres-source';

describe('selectPostgresSource', () => {
  it('uses DATABASE_URL when it is set, whatever else is set', () => {
    expect(
      selectPostgresSource(
        { DATABASE_URL: 'postgres://a@h/db', TEST_POSTGRES_IMAGE: 'postgres:17' },
        { purpose: 'test', dockerAvailable: true },
      ),
    ).toEqual({ kind: 'url', adminUrl: 'postgres://a@h/db' });
  });

  it('starts the TEST_POSTGRES_IMAGE container for tests when Docker answers', () => {
    expect(
      selectPostgresSource(
        { TEST_POSTGRES_IMAGE: 'citusdata/citus:13' },
        { purpose: 'test', dockerAvailable: true },
      ),
    ).toEqual({ kind: 'container', image: 'citusdata/citus:13' });
  });

  it('refuses TEST_POSTGRES_IMAGE with a clear error when no Docker engine is reachable', () => {
    expect(() =>
      selectPostgresSource(
        { TEST_POSTGRES_IMAGE: 'postgres:17' },
        { purpose: 'test', dockerAvailable: false },
      ),
    ).toThrow(/no Docker engine is reachable/);
  });

  it('ignores TEST_POSTGRES_IMAGE outside tests and falls back to embedded', () => {
    expect(
      selectPostgresSource(
        { TEST_POSTGRES_IMAGE: 'postgres:17' },
        { purpose: 'demo', dockerAvailable: true },
      ),
    ).toEqual({ kind: 'embedded' });
  });

  it('uses the embedded server when nothing is set, and treats a blank DATABASE_URL as unset', () => {
    expect(
      selectPostgresSource({ DATABASE_URL: '  ' }, { purpose: 'test', dockerAvailable: false }),
    ).toEqual({
      kind: 'embedded',
    });
  });
});
