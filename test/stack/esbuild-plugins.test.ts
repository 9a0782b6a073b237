import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { inlineSchemaKeys } = require('../../infra/esbuild-plugins.cjs') as {
  inlineSchemaKeys: (code: string) => string;
};

describe('Function: inlineSchemaKeys (infra/esbuild-plugins.cjs)', () => {
  it('turns computed keys naming top-level string constants into literal keys: the same object', () => {
    const code = 'const _xN = "xmlName";\nconst _m = "min";\nvar A$ = [3, 0, [[1, { [_xN]: _m }]]];\n';
    const out = inlineSchemaKeys(code);
    expect(out).toContain('{ "xmlName": _m }');
    const evaluate = (src: string) => new Function(`${src}return A$;`)();
    expect(evaluate(out)).toEqual(evaluate(code));
  });

  it('leaves keys alone that are not top-level string constants, and never inlines __proto__', () => {
    const code = 'const _p = "__proto__";\nconst _n = 1;\nvar o = { [_p]: 1, [_n]: 2, [_zz]: 3 };\n';
    expect(inlineSchemaKeys(code)).toBe(code);
  });
});
