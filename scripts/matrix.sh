#!/usr/bin/env bash
# One leg of the version matrix: a clean copy of HEAD in a temporary directory, the lockfile's
# packages with the leg's versions swapped in, then the library's suites (test/tenancy,
# test/foundation, test/database-level, test/testing, test/replicas and the transports' test/jobs, test/graphql,
# test/microservices) on the embedded PostgreSQL 18. Nest 11 runs the jobs but not GraphQL or
# microservices: the library's peer ranges for @nestjs/graphql 14 and @nestjs/microservices 12.1 are Nest 12 only.
#
#   bash scripts/matrix.sh typeorm-0.3   # TypeORM latest 0.3.x
#   bash scripts/matrix.sh nest-11       # @nestjs/* 11 (with the @nestjs/schedule of that line)
#   bash scripts/matrix.sh cls-7         # nestjs-cls 7 on Node.js 22 (npm package `node`)
#
# The main combination (TypeORM 1.x, Nest 12, nestjs-cls 6, Node 20) is `npm test` itself.
set -euo pipefail
cd "$(dirname "$0")/.."

leg="${1:?usage: scripts/matrix.sh typeorm-0.3|nest-11|cls-7}"
suites=(test/tenancy test/foundation test/database-level test/testing test/jobs test/replicas)
node_cmd=(node)
case "$leg" in
  typeorm-0.3)
    swap=(typeorm@0.3)
    suites+=(test/graphql test/microservices)
    ;;
  nest-11)
    swap=(@nestjs/common@11 @nestjs/core@11 @nestjs/platform-express@11 @nestjs/platform-fastify@11
      @nestjs/typeorm@11 @nestjs/testing@11 @nestjs/swagger@11 @nestjs/schedule@6)
    ;;
  cls-7)
    swap=(nestjs-cls@7)
    suites+=(test/graphql test/microservices)
    node_cmd=(npx -y -p node@22 node)
    ;;
  *)
    echo "unknown leg: $leg" >&2
    exit 2
    ;;
esac

# Inside the checkout (ignored by git). The embedded PostgreSQL runs its binaries from here as an
# unprivileged user when CI runs as root, so the directory must be readable by others (mktemp
# makes it 0700).
mkdir -p .matrix
dir="$(mktemp -d "$PWD/.matrix/$leg-XXXXXX")"
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
git archive HEAD | tar -x -C "$dir"
cd "$dir"
echo "== matrix $leg: npm ci, then ${swap[*]}"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
# --legacy-peer-deps: @nestjs-cls/transactional 3.x still names nestjs-cls ^6 as its peer.
npm install --no-save --no-audit --no-fund --legacy-peer-deps --loglevel=error "${swap[@]}" >/dev/null
for p in typeorm @nestjs/core nestjs-cls @nestjs-cls/transactional pg; do
  printf '   %s %s\n' "$p" "$(node -p "require('./node_modules/$p/package.json').version")"
done
echo "   node $("${node_cmd[@]}" -v)"
"${node_cmd[@]}" node_modules/jest/bin/jest.js --runInBand "${suites[@]}"
