"use strict";
// The JavaScript half of isolated_studio/bindings.py, preloaded into the jsii runtime
// (node --require) by bindings.install().
//
// The provider's lib/index.js is one `exports.<name> = require("./<module>");` per resource
// and data source: loading the assembly requires all ~2,100 modules, ~4 s of the jsii
// runtime's start. Here each of those lines becomes a getter that requires its module on
// first use, which is how jsii finds a type (by walking the exports of its namespace), so only
// the modules the stacks use are loaded. Nothing else in the file or in any other file changes;
// a file with no such line (another generator) is left as it is, after a one-line warning.

const Module = require("module");

const INDEX = /[\\/]@cdktf[\\/]provider-aws[\\/]lib[\\/]index\.js$/;
const EAGER = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/gm;
// Appended, not prepended: the file's "use strict" stays its first statement, its lines keep
// their numbers, and a function declaration is hoisted above the lines that call it.
const HELPER = `
function __isolatedStudioLazy(name, path) {
  Object.defineProperty(exports, name, {
    configurable: true,
    enumerable: true,
    get() {
      const value = require(path);
      Object.defineProperty(exports, name, { value, writable: true, configurable: true, enumerable: true });
      return value;
    },
  });
}
`;

const compile = Module.prototype._compile;
Module.prototype._compile = function compileLazily(content, filename) {
  if (INDEX.test(filename)) {
    let lazy = 0;
    content = content.replace(EAGER, (_, name, path) => {
      lazy += 1;
      return `__isolatedStudioLazy(${JSON.stringify(name)}, ${JSON.stringify(path)});`;
    });
    if (lazy > 0) {
      content += HELPER;
    } else {
      process.stderr.write(`warning: ${filename}: no eager submodule requires to defer; loading all of them\n`);
    }
  }
  return compile.call(this, content, filename);
};
