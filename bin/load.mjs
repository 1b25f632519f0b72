// Loads the bundled CLI (dist/bundle/ga.cjs, one CommonJS file) with the V8
// code cache the build made for it (dist/bundle/ga.cache): start-up is
// compile cost, and Node 20 keeps no code cache for ES modules. A cache V8
// does not accept (another node, other V8 flags, a changed bundle) is
// ignored: the file is compiled as without one. bin/bundle.mjs makes the
// cache through this same function.
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import vm from 'node:vm';

/** The code cache of the bundle `file` (dist/bundle/ga.cjs: dist/bundle/ga.cache). */
export const cacheOf = (file) => file.replace(/\.cjs$/, '.cache');

/** The bundle's exports, and whether V8 took its code cache. `cache: false` compiles without one. */
export function loadBundle(path, { cache = true } = {}) {
  const file = resolve(path);
  const source = readFileSync(file, 'utf8');
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(cacheOf(file));
    } catch {
      cachedData = undefined;
    }
  }
  // The bundle has no import() (bin/bundle.mjs): a script compiled from a code cache has no dynamic import handler.
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script, cached: cachedData !== undefined && !script.cachedDataRejected };
}
