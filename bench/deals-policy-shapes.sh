#!/usr/bin/env bash
# What the shape of sales.deals' visibility policy costs each role, on the benchmark's data: the
# first page of GET /deals (oldest 51, the tenant named, as sales-api sends it) and the pipeline
# report (stage, count, sum), per role, as the application role, EXPLAIN ANALYZE execution time
# (the second of two runs, so caches are warm). Each shape is installed inside a transaction that
# is rolled back, so the database is left as it was.
#
#   npm run bench -- --keep --only db            # or DATABASE_URL=... to keep it on a server
#   bash bench/deals-policy-shapes.sh <url of the kept bench_* database>
#
# Shapes:
#   case+scope the migrations' policy (1764000007000): a per-row CASE on the role, a manager's
#             subtree an uncorrelated IN (SELECT ...) hashed once per statement; the query names
#             the caller's scope as sales-api sends it (a rep's id, a manager's subtree, nothing
#             for an admin). What runs today.
#   case      the same policy, the query naming only the tenant.
#   array-once the policy before 1764000007000: owner_id = ANY (visible owners, an array per role
#             built by ONE scalar sub-select). Index-friendly, but the planner assumes 10 owners
#             for any role. (Installed over today's team policies.)
#   or-exists three PERMISSIVE policies OR-ed: own deals, a manager's subtree as EXISTS on the
#             closure (hashed per statement), admins as a one-time role check. No owner index.
#   or-exists+named  the same, with the rep's own id named in the query (what the app would add).
#   db-roles  one PostgreSQL role per application role (the session would SET LOCAL ROLE from the
#             token's role), each with only its own policy: a rep's owner_id = me, a manager's
#             array, an admin's nothing beyond the tenant guard. Not something the library does.
#   by hand   no RLS, the visibility written into the query (the benchmark baseline's shape).
# Needs psql, and the repository's node_modules (the manager scope comes from sales-api's own code).
set -euo pipefail
url="${1:?usage: bash bench/deals-policy-shapes.sh <url of a kept bench database>}"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
q() { psql "$url" -Atqc "$1"; }
tenant=$(q "SELECT tenant_id FROM sales.deals GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1")
below() {
  q "SELECT ancestor_id FROM sales.team_closure WHERE tenant_id = '$tenant'
      GROUP BY ancestor_id ORDER BY abs(count(*) - 1 - $1), ancestor_id LIMIT 1"
}
manager=$(below 1000)
lead=$(below 40)
rep=$(q "SELECT m.user_id FROM sales.team_members m WHERE m.tenant_id = '$tenant'
          AND NOT EXISTS (SELECT 1 FROM sales.team_members x
                           WHERE x.tenant_id = m.tenant_id AND x.manager_id = m.user_id)
        ORDER BY m.user_id LIMIT 1")
admin=$(q "SELECT user_id FROM sales.team_members WHERE tenant_id = '$tenant' AND manager_id IS NULL")
app=$(q "SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\_%' AND rolcanlogin
          AND NOT rolsuper AND NOT rolbypassrls AND rolname NOT LIKE '%owner%'
          AND rolname NOT LIKE '%platform%' ORDER BY rolname LIMIT 1")

setting() { echo "NULLIF(current_setting('app.$1', true), '')"; }
or_exists="
DROP POLICY deals_visible_owner ON sales.deals;
CREATE POLICY deals_own ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
  USING (owner_id = (SELECT $(setting user_id)::uuid)
         AND (SELECT $(setting role)) IN ('rep', 'manager', 'admin'));
CREATE POLICY deals_subtree ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
  USING ((SELECT $(setting role)) = 'manager' AND EXISTS (
    SELECT 1 FROM sales.team_closure c
     WHERE c.tenant_id = deals.tenant_id AND c.descendant_id = deals.owner_id
       AND c.ancestor_id = (SELECT $(setting user_id)::uuid)));
CREATE POLICY deals_admin ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
  USING ((SELECT $(setting role)) = 'admin');"

array_once="
DROP POLICY deals_visible_owner ON sales.deals;
CREATE POLICY deals_visible_owner ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
  USING (owner_id = ANY ((SELECT CASE $(setting role)
    WHEN 'admin' THEN ARRAY(SELECT m.user_id FROM sales.team_members m
                             WHERE m.tenant_id = $(setting tenant_id)::uuid)
    WHEN 'manager' THEN array_append(ARRAY(
      SELECT c.descendant_id FROM sales.team_closure c
       WHERE c.tenant_id = $(setting tenant_id)::uuid
         AND c.ancestor_id = $(setting user_id)::uuid), $(setting user_id)::uuid)
    WHEN 'rep' THEN ARRAY[$(setting user_id)::uuid]
  END)::uuid[]));"

db_roles="
CREATE ROLE deals_shape_admin; CREATE ROLE deals_shape_rep; CREATE ROLE deals_shape_manager;
GRANT USAGE ON SCHEMA sales, tenancy TO deals_shape_admin, deals_shape_rep, deals_shape_manager;
GRANT SELECT ON ALL TABLES IN SCHEMA sales TO deals_shape_admin, deals_shape_rep, deals_shape_manager;
DROP POLICY deals_visible_owner ON sales.deals;
CREATE POLICY deals_rep ON sales.deals AS PERMISSIVE FOR ALL TO deals_shape_rep
  USING (owner_id = (SELECT $(setting user_id)::uuid));
CREATE POLICY deals_manager ON sales.deals AS PERMISSIVE FOR ALL TO deals_shape_manager
  USING (owner_id = ANY (array_append(ARRAY(
    SELECT c.descendant_id FROM sales.team_closure c
     WHERE c.tenant_id = (SELECT $(setting tenant_id)::uuid)
       AND c.ancestor_id = (SELECT $(setting user_id)::uuid)), (SELECT $(setting user_id)::uuid))));
CREATE POLICY deals_admin ON sales.deals AS PERMISSIVE FOR ALL TO deals_shape_admin USING (true);"

# ms <shape sql> <user> <role> <query> [<database role>]
ms() {
  psql "$url" -Atq <<SQL | grep 'Execution Time' | tail -1 | sed -E 's/.*: ([0-9.]+) ms/\1/'
BEGIN;
$1
SET LOCAL ROLE "${5:-$app}";
SELECT set_config('app.tenant_id', '$tenant', true), set_config('app.user_id', '$2', true),
       set_config('app.role', '$3', true) \g /dev/null
EXPLAIN (ANALYZE, TIMING OFF) $4;
EXPLAIN (ANALYZE, TIMING OFF) $4;
ROLLBACK;
SQL
}
page() {
  echo "SELECT d.* FROM sales.deals d WHERE d.tenant_id = '$tenant' $1
         ORDER BY d.created_at, d.id LIMIT 51"
}
report() { echo "SELECT d.stage, count(*), sum(d.amount) FROM sales.deals d WHERE d.tenant_id = '$tenant' $1 GROUP BY d.stage"; }

# A manager's subtree exactly as sales-api writes it (managerScopeCondition in
# apps/sales-api/src/deals/deal-scope.ts: IN (SELECT ...) for a page, = ANY (ARRAY(...)) for a
# report), with :tenant and :manager left to fill in.
manager_scope() {
  (cd "$(dirname "$0")/.." && npx ts-node -T -r tsconfig-paths/register -e \
    "process.stdout.write(require('./apps/sales-api/src/deals/deal-scope').managerScopeCondition('d.owner_id', ':tenant', ':manager', '$1'))")
}
manager_page=$(manager_scope page)
manager_all=$(manager_scope all)

# The caller's scope as sales-api names it in its deals queries (callerDealsQuery): <user> <role>
# <page|all>.
scope() {
  local s
  case $2 in
    manager)
      [[ $3 == page ]] && s=$manager_page || s=$manager_all
      s=${s//:tenant/\'$tenant\'}
      echo "AND ${s//:manager/\'$1\'}" ;;
    rep) echo "AND d.owner_id = '$1'" ;;
    *) echo "" ;;
  esac
}

# The same rows by hand, without RLS (as the benchmark's baseline writes them): what to compare with.
by_hand() {
  case $2 in
    manager) echo "JOIN sales.team_closure c ON c.tenant_id = d.tenant_id AND c.descendant_id = d.owner_id
                    WHERE d.tenant_id = '$tenant' AND c.ancestor_id = '$1'" ;;
    rep) echo "WHERE d.tenant_id = '$tenant' AND d.owner_id = '$1'" ;;
    *) echo "WHERE d.tenant_id = '$tenant'" ;;
  esac
}
superuser_ms() {
  psql "$url" -Atq <<SQL | grep 'Execution Time' | tail -1 | sed -E 's/.*: ([0-9.]+) ms/\1/'
EXPLAIN (ANALYZE, TIMING OFF) $1;
EXPLAIN (ANALYZE, TIMING OFF) $1;
SQL
}

echo "| role | shape | first page ms | report ms |"
echo "| --- | --- | --- | --- |"
for who in "manager:$manager:manager" "team lead:$lead:manager" "rep:$rep:rep" "admin:$admin:admin"; do
  IFS=: read -r label user role <<<"$who"
  hand=$(by_hand "$user" "$role")
  echo "| $label | by hand, no RLS | $(superuser_ms "SELECT d.* FROM sales.deals d $hand ORDER BY d.created_at, d.id LIMIT 51") | $(superuser_ms "SELECT d.stage, count(*), sum(d.amount) FROM sales.deals d $hand GROUP BY d.stage") |"
  for shape in case+scope case array-once or-exists or-exists+named db-roles; do
    sql=""
    dbrole=""
    [[ $shape == db-roles ]] && { sql="$db_roles"; dbrole="deals_shape_$role"; }
    [[ $shape == array-once ]] && sql="$array_once"
    named=""
    [[ $shape == or-exists* ]] && sql="$or_exists"
    [[ $shape == *named ]] && { [[ $role == rep ]] || continue; named="AND d.owner_id = '$user'"; }
    named_report=$named
    [[ $shape == case+scope ]] && { named=$(scope "$user" "$role" page); named_report=$(scope "$user" "$role" all); }
    echo "| $label | $shape | $(ms "$sql" "$user" "$role" "$(page "$named")" "$dbrole") | $(ms "$sql" "$user" "$role" "$(report "$named_report")" "$dbrole") |"
  done
done
