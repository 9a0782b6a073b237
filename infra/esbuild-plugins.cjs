// esbuild plugins for the Lambda bundles (serverless.yml: custom.esbuild.plugins).
//
// Why: the AWS SDK's schema files (client-*/dist-es/schemas/schemas_0.js) write member traits with computed keys,
// `{ [_xN]: _m }`, where `_xN` is a top-level string constant. esbuild must assume a computed key can run code
// (ToPropertyKey), so it keeps every schema of the service: 555 KB of client-ec2's 1 MB in the reconcile bundle, for
// the 20 calls we make (aws/aws-sdk-js-v3 issue #7607, open). Replacing each such key by the constant's string
// literal is the same object, and lets esbuild drop the schemas nothing references.
'use strict';

const fs = require('node:fs/promises');

const SCHEMA_FILE =
  /[\\/]@aws-sdk[\\/](client-[a-z0-9-]+|nested-clients)[\\/]dist-es[\\/].*schemas[\\/]schemas_\d+\.js$/;

/**
 * Replaces `[name]:` by `"value":` for every `const name = "value";` at the top of `code` (pure). `__proto__` is
 * left computed: as a literal key it would set the prototype instead of defining a property.
 */
function inlineSchemaKeys(code) {
  const constants = new Map();
  for (const m of code.matchAll(/^const (_[A-Za-z0-9_]+) = ("[^"\\\n]*");$/gm)) {
    if (m[2] !== '"__proto__"') constants.set(m[1], m[2]);
  }
  return code.replace(/\[(_[A-Za-z0-9_]+)\]:/g, (all, name) => (constants.has(name) ? `${constants.get(name)}:` : all));
}

/** The esbuild plugin around {@link inlineSchemaKeys}. */
const inlineSchemaKeysPlugin = {
  name: 'eip-autopilot-inline-schema-keys',
  setup(build) {
    build.onLoad({ filter: SCHEMA_FILE }, async (args) => ({
      contents: inlineSchemaKeys(await fs.readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

module.exports = [inlineSchemaKeysPlugin];
module.exports.inlineSchemaKeys = inlineSchemaKeys;
