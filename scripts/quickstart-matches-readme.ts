// The library README's quick start must be examples/quickstart, true when pasted: every ```ts block
// of the README that starts with `// <path>` must equal examples/quickstart/src/<path>.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'libs/tenancy/README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n\/\/ (\S+)\n([\s\S]*?)```/g)];
let failed = 0;
for (const [, path, body] of blocks) {
  const file = readFileSync(join(root, 'examples/quickstart/src', path), 'utf8');
  if (file.trim() !== body.trim()) {
    console.error(
      `README quick start block "${path}" differs from examples/quickstart/src/${path}`,
    );
    failed++;
  }
}
if (blocks.length < 7) {
  console.error(`expected the 7 quick start files in the README, found ${blocks.length}`);
  failed++;
}
console.log(`== README quick start: ${blocks.length} files compared, ${failed} differ`);
process.exit(failed ? 1 : 0);
