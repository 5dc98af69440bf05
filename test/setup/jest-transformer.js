// NestJS 12 ships ES modules only. Node 20.19+ loads them with require(esm), but Jest's module
// runtime cannot until Node 24.9, so Jest compiles @nestjs/* to CommonJS through ts-jest. The only
// ESM-only constructs they use are createRequire(import.meta.url), which CommonJS already provides,
// and import() of optional packages (e.g. @nestjs/swagger's of @fastify/static), which Jest's
// CommonJS runtime refuses without --experimental-vm-modules: both become require.
const { createTransformer } = require('ts-jest').default;

const tsJest = createTransformer({ tsconfig: '<rootDir>/tsconfig.jest.json' });

function toCommonJs(source, path) {
  if (!path.includes('node_modules')) return source;
  return source
    .replace(/^\s*const require = createRequire\(import\.meta\.url\);?\s*$/gm, '')
    .replace(/createRequire\(import\.meta\.url\)/g, 'require')
    .replace(/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href")
    .replace(/\bimport\((['"][^'"]+['"])\)/g, 'Promise.resolve().then(() => require($1))');
}

module.exports = {
  process: (source, path, options) => tsJest.process(toCommonJs(source, path), path, options),
  getCacheKey: (source, path, options) =>
    tsJest.getCacheKey(toCommonJs(source, path) + '\n// cjs-v2', path, options),
};
