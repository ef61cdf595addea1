// Jest transform for the dependencies published only as ES modules (NestJS 12, uuid): Jest's own
// module system cannot require() an ES module before Node 24.9, so they are turned into CommonJS as
// they load, the way TypeScript turns the project's own code into CommonJS. `import.meta` has no
// CommonJS syntax: its `url`, `dirname` and `filename` become the file's own, `resolve` Jest's
// `require.resolve`, and `createRequire(import.meta.url)` the module's CommonJS `require`, so
// everything still loads through Jest.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const ts = require('typescript');

const self = readFileSync(__filename, 'utf8') + ts.version;

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha256').update(self).update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const commonJs = source
      // A module's own require, which CommonJS already has.
      .replace(/^const require = createRequire\(import\.meta\.url\);$/m, '')
      .replace(/\bimport\.meta\.url\b/g, "require('node:url').pathToFileURL(__filename).href")
      .replace(/\bimport\.meta\.dirname\b/g, '__dirname')
      .replace(/\bimport\.meta\.filename\b/g, '__filename')
      .replace(/\bimport\.meta\.resolve\(/g, 'require.resolve(');
    const { outputText, sourceMapText } = ts.transpileModule(commonJs, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        allowJs: true,
        esModuleInterop: true,
        sourceMap: true,
      },
    });
    return { code: outputText, map: sourceMapText };
  },
};
