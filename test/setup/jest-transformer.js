// NestJS 12 ships ES modules only. Node 20.19+ loads them with require(esm), but Jest's module
// runtime cannot until Node 24.9, so Jest compiles @nestjs/* to CommonJS through ts-jest. The only
// ESM-only construct they use is createRequire(import.meta.url), which CommonJS already provides.
const { createTransformer } = require('ts-jest').default;

const tsJest = createTransformer({ tsconfig: '<rootDir>/tsconfig.jest.json' });

function toCommonJs(source, path) {
  if (!path.includes('node_modules')) return source;
  return source
    .replace(/^\s*const require = createRequire\(import\.meta\.url\);?\s*$/gm, '')
    .replace(/createRequire\(import\.meta\.url\)/g, 'require')
    .replace(/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href");
}

module.exports = {
  process: (source, path, options) => tsJest.process(toCommonJs(source, path), path, options),
  getCacheKey: (source, path, options) =>
    tsJest.getCacheKey(toCommonJs(source, path) + '\n// cjs-v1', path, options),
};
