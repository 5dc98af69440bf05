#!/usr/bin/env bash
# The standalone example app (examples/quickstart) as a new user gets it: the library is built and
# packed (npm pack), the app is copied out of the repository, installs the tarball and its other
# dependencies from the registry, builds with skipLibCheck: false, and runs its e2e tests against
# the PostgreSQL at DATABASE_URL (a superuser URL; default: the machine's, 127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work" libs/tenancy/dist' EXIT
rm -rf libs/tenancy/dist
npx tsc -p libs/tenancy/tsconfig.lib.json
tarball="$(cd libs/tenancy && npm pack --silent --pack-destination "$work" | tail -1)"
contents="$(tar -tzf "$work/$tarball")"
echo "== packed $tarball: $(wc -l <<<"$contents") files"
grep -qx 'package/LICENSE' <<<"$contents" || { echo "LICENSE missing from the tarball" >&2; exit 1; }
grep -qx 'package/docs/reference.md' <<<"$contents" || { echo "docs/ missing from the tarball" >&2; exit 1; }
npx ts-node scripts/quickstart-matches-readme.ts
mkdir "$work/app"
tar -C examples/quickstart --exclude node_modules --exclude dist -cf - . | tar -C "$work/app" -xf -
cd "$work/app"
npm pkg set "dependencies.nestjs-rls-tenancy=file:$work/$tarball"
npm install --no-audit --no-fund --loglevel=error
npm test
