#!/usr/bin/env bash
# Proves the isolation suites bite: applies one deliberate break at a time to the library, runs the
# suites that guard it, requires them to FAIL, restores the file, and requires them to pass again.
# Not part of npm test (it runs the suites several times). Usage: bash scripts/mutation-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."

SUB=libs/tenancy/src/typeorm/rls-transaction.subscriber.ts
RLS=libs/tenancy/src/migrations/rls.migration-helpers.ts
ROUTING=libs/tenancy/src/typeorm/tenancy-data-source.ts
TX=libs/tenancy/src/typeorm/tenant-query-runner.ts
NESTED=libs/tenancy/src/typeorm/nested-transactions.ts
ADAPTER=libs/tenancy/src/transactional/tenancy-transactional.adapter.ts
GQL=libs/tenancy/src/graphql/tenant-graphql.plugin.ts
RMQ=libs/tenancy/src/microservices/tenant-rmq.server.ts
JOBS=libs/tenancy/src/jobs/tenant-job.signer.ts
REPLICAS=libs/tenancy/src/typeorm/replica-router.ts
CHAINS=migrations/1764000013500-ReportingChains.ts
status=0
# ONLY=name1,name2 runs those mutations alone (and skips the restored run).
only="${ONLY:-}"

mutate() {
  local name="$1" file="$2" from="$3" to="$4" suites="$5"
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then return; fi
  cp "$file" "$file.orig"
  if python3 - "$file" "$from" "$to" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
if old not in text:
    sys.exit(f"mutation anchor not found in {path}: {old}")
open(path, "w").write(text.replace(old, new))
PY
  then :; else
    echo "FAIL  $name: the mutation could not be applied (the anchor moved; update this script)"
    status=1
    mv "$file.orig" "$file"
    return
  fi
  if npx jest --runInBand $suites >/tmp/mutation-"$name".log 2>&1; then
    echo "FAIL  $name: the suites still passed with the break in place (see /tmp/mutation-$name.log)"
    status=1
  else
    echo "ok    $name: $(grep -E '^Tests:' /tmp/mutation-"$name".log | tail -1)"
  fi
  mv "$file.orig" "$file"
}

mutate session-scope "$SUB" "'set_config(\$1, \$2, true), set_config(\$3, \$4, true), set_config(\$5, \$6, true), set_config(\$7, \$8, true)'" "'set_config(\$1, \$2, false), set_config(\$3, \$4, false), set_config(\$5, \$6, false), set_config(\$7, \$8, false)'" "test/tenancy/pool-poisoning test/isolation/pgbouncer"
mutate no-force "$RLS" "  await db.query(\`ALTER TABLE \${t.sql} FORCE ROW LEVEL SECURITY\`);
" "" "test/foundation"
mutate no-routing "$ROUTING" "      return scope;" "      if (process.env.NEVER_SET) return scope;" "test/tenancy/query-paths test/adversarial/adversarial"
mutate no-settings-writer "$ROUTING" "    this.subscribers.unshift(new RlsTransactionSubscriber());" "" "test/tenancy/query-paths"
mutate no-session-guard "$TX" "    const violation = sessionStateViolation(sql, parameters);" "    const violation = process.env.NEVER_SET ? sessionStateViolation(sql, parameters) : undefined;" "test/tenancy/session-state"
mutate no-relation-loader "$ROUTING" "  override readonly relationLoader: TenantRelationLoader = new TenantRelationLoader(this);" "" "test/tenancy/late-work"
mutate no-savepoint-order "$NESTED" "      if (!innermost || innermost === parent) return this.push(depth());" "      return this.push(depth());" "test/tenancy/late-work"
mutate requires-new-as-savepoint "$ADAPTER" "        if (scope) {
          return dataSource.runInNewScope(" "        if (scope && process.env.NEVER_SET) {
          return dataSource.runInNewScope(" "test/tenancy/transactional"
mutate no-stream-destroy "$TX" "    const abandoned = await this.destroyStreams();" "    const abandoned = false;" "test/tenancy/late-work"
mutate graphql-commits-on-error "$GQL" "      await scope.end(failed);" "      await scope.end(false);" "test/graphql"
mutate rmq-acks-refusals "$RMQ" "    if (failed.length === 0) return channel.ack(message);" "    if (failed.length === 0 || !process.env.NEVER_SET) return channel.ack(message);" "test/microservices/tenant-rmq test/support-api/inbound-email"
mutate jobs-unsigned-envelopes "$JOBS" "    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {" "    if (process.env.NEVER_SET && !timingSafeEqual(given, expected)) {" "test/jobs"

mutate read-only-not-written "$SUB" "const SET_SETTINGS_READ_ONLY = \`SELECT \${SETTINGS}, \${READ_ONLY}\`;" "const SET_SETTINGS_READ_ONLY = \`SELECT \${SETTINGS}\`;" "test/replicas/read-only-scopes"
mutate replica-lag-ignored "$REPLICAS" "      if (lagMs > this.options.maxLagMs) {" "      if (process.env.NEVER_SET && lagMs > this.options.maxLagMs) {" "test/replicas/read-only-scopes"
mutate set-local-unvalidated "$SUB" "  if (requestId !== '' && !isRequestId(requestId)) {" "  if (process.env.NEVER_SET && !isRequestId(requestId)) {" "libs/tenancy/src/typeorm/rls-transaction.subscriber.spec.ts"
mutate owner-chain-unchecked "$CHAINS" "ALTER TABLE sales.deals ALTER COLUMN owner_chain SET NOT NULL,
          ADD CONSTRAINT deals_owner_chain_fk FOREIGN KEY (tenant_id, owner_id, owner_chain)
            REFERENCES sales.team_members (tenant_id, user_id, chain)" "ALTER TABLE sales.deals ALTER COLUMN owner_chain SET NOT NULL" "test/sales-api/hierarchy test/sales-api/deals"
mutate manager-policy-permissive "$CHAINS" "deals_manager_team ON sales.deals AS RESTRICTIVE" "deals_manager_team ON sales.deals AS PERMISSIVE" "test/sales-api/hierarchy"

if [ -n "$only" ]; then exit "$status"; fi
if npx jest --runInBand test/tenancy test/foundation test/graphql test/microservices test/jobs test/replicas libs/tenancy >/tmp/mutation-restored.log 2>&1; then
  echo "ok    restored: $(grep -E '^Tests:' /tmp/mutation-restored.log | tail -1)"
else
  echo "FAIL  the suites do not pass after restoring (see /tmp/mutation-restored.log)"
  status=1
fi
exit $status
