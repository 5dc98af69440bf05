#!/usr/bin/env bash
# Where PostgreSQL's share of a tenant-scoped read goes, statement by statement, without Node:
# pgbench in pipeline mode (\startpipeline: every statement of a transaction in one flight, so the
# network round trip counts once) on a throwaway database, then planning and execution time of the
# single-row lookup under RLS and with an explicit WHERE (EXPLAIN ANALYZE, averaged). Also the
# policy's form: the lookup and a sequential count against a copy of the table whose guard is
# evaluated per row (no sub-select), to show what the once-per-statement form costs and saves.
#
#   bash bench/pg-breakdown.sh [admin-url]     (default: $DATABASE_URL, else the system server)
#
# Needs pgbench and psql (Debian: postgresql-client). The database bench_pg_breakdown and the role
# bench_pg_breakdown_app are created and dropped again.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
url="${1:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
db=bench_pg_breakdown
app=bench_pg_breakdown_app
seconds="${SECONDS_PER_RUN:-4}"
rounds="${ROUNDS:-3}"
tmp="$(mktemp -d)"
base="${url%/*}"
dburl="$base/$db"
# The same server as the app role (no password: trust or peer authentication, as on these machines).
appurl="postgres://$app@$(sed -E 's#^postgres(ql)?://([^@/]*@)?##' <<<"$dburl")"
cleanup() {
  psql "$url" -qc "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $app" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

tenant=00000000-0000-4000-8000-000000000007
ticket=11111111-1111-4111-8111-111111111111
psql "$url" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" \
  -c "DROP ROLE IF EXISTS $app" -c "CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS" >/dev/null
current="NULLIF(current_setting('app.tenant_id', true), '')::uuid"
# The library's RLS on a table, with the tenant guard comparing against the expression $2.
guard() {
  cat <<SQL
ALTER TABLE $1 ENABLE ROW LEVEL SECURITY;
ALTER TABLE $1 FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_guard ON $1 AS RESTRICTIVE FOR ALL TO PUBLIC
  USING (tenant_id = $2) WITH CHECK (tenant_id = $2);
CREATE POLICY tenant_allow ON $1 AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
GRANT SELECT ON $1 TO $app;
SQL
}
psql "$dburl" -q <<SQL
CREATE TABLE tickets (tenant_id uuid NOT NULL, id uuid NOT NULL, subject text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, id));
INSERT INTO tickets SELECT ('00000000-0000-4000-8000-' || lpad((g % 1000)::text, 12, '0'))::uuid,
  gen_random_uuid(), 'subject ' || g FROM generate_series(1, 200000) g;
INSERT INTO tickets VALUES ('$tenant', '$ticket', 'the one');
CREATE TABLE tickets_per_row (LIKE tickets INCLUDING ALL);
INSERT INTO tickets_per_row SELECT * FROM tickets;
$(guard tickets "(SELECT $current)")
$(guard tickets_per_row "$current")
VACUUM ANALYZE tickets;
VACUUM ANALYZE tickets_per_row;
SQL

bypass="$(psql "$appurl" -Atc "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")"
if [ "$bypass" != f ]; then
  echo "the app-role connection ($appurl) bypasses RLS or did not connect as $app: refusing to measure" >&2
  exit 1
fi

settings="SELECT set_config('app.tenant_id', '$tenant', true), set_config('app.user_id', '$tenant', true), set_config('app.role', 'agent', true), set_config('app.request_id', 'r', true);"
explicit="SELECT tenant_id, id, subject, created_at FROM tickets WHERE tenant_id = '$tenant' AND id = '$ticket';"
rls="SELECT tenant_id, id, subject, created_at FROM tickets WHERE id = '$ticket';"
script() { printf '\\startpipeline\n'; printf '%s\n' "$@"; printf '\\endpipeline\n'; }
script "$explicit" >"$tmp/explicit.sql"
script 'BEGIN;' "$explicit" 'COMMIT;' >"$tmp/explicit-in-transaction.sql"
script 'BEGIN;' 'COMMIT;' >"$tmp/begin-commit.sql"
script 'BEGIN;' "$settings" 'COMMIT;' >"$tmp/begin-settings-commit.sql"
script 'BEGIN;' "$settings" "$explicit" 'COMMIT;' >"$tmp/settings-and-explicit.sql"
script 'BEGIN;' "$settings" "$rls" 'COMMIT;' >"$tmp/library.sql"
# The policy's form: the library's scalar sub-select (evaluated once per statement, an InitPlan) or
# the bare expression (no sub-plan to plan, but evaluated per row wherever the tenant column is a
# filter rather than an index condition: here a sequential count over every tenant's rows).
script 'BEGIN;' "$settings" "${rls/FROM tickets/FROM tickets_per_row}" 'COMMIT;' >"$tmp/library-per-row-policy.sql"
noindex='SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off;'
script 'BEGIN;' "$settings" "$noindex" 'SELECT count(*) FROM tickets;' 'COMMIT;' >"$tmp/scan.sql"
script 'BEGIN;' "$settings" "$noindex" 'SELECT count(*) FROM tickets_per_row;' 'COMMIT;' >"$tmp/scan-per-row-policy.sql"

echo "pgbench, one client, pipeline mode, ${seconds} s per run, ${rounds} rounds: mean latency per transaction (µs)"
for name in explicit explicit-in-transaction begin-commit begin-settings-commit settings-and-explicit \
  library library-per-row-policy scan scan-per-row-policy; do
  as="$dburl"
  case "$name" in library* | scan*) as="$appurl" ;; esac
  printf '  %-26s' "$name"
  for _ in $(seq "$rounds"); do
    pgbench -n -M extended -c 1 -T "$seconds" -f "$tmp/$name.sql" "$as" 2>/dev/null |
      awk '/latency average/ { printf " %6.1f", $4 * 1000 }'
  done
  echo
done

explain() {
  {
    echo "BEGIN; $settings"
    for _ in $(seq 300); do echo "EXPLAIN (ANALYZE, TIMING OFF) ${2%;};"; done
    echo 'COMMIT;'
  } | psql "$1" -q | awk -v label="$3" '/Planning Time/ { p += $3; n++ } /Execution Time/ { x += $3 }
      END { printf "  %-26s planning %5.1f µs, execution %5.1f µs (mean of %d)\n", label, p / n * 1000, x / n * 1000, n }'
}
echo "The single-row lookup, EXPLAIN ANALYZE inside one transaction:"
explain "$dburl" "$explicit" "explicit WHERE (owner)"
explain "$appurl" "$rls" "RLS (app role)"
