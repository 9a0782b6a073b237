import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies point one way: test → bench → local → src, and functions → src (local may import functions).
 * scripts/ holds developer tools (npm run build:document, docs:iam): like bench, they may use local, never the
 * reverse. A test helper deleted must never break `npm run demo`, and the deployed core must never pull in the local
 * region. This test parses every import specifier (static, dynamic, re-export) of every .ts file.
 */
const ROOT = resolve(import.meta.dirname, '..');
const FOLDERS = ['src', 'functions', 'scripts', 'local', 'bench', 'test'] as const;
type Folder = (typeof FOLDERS)[number];

/**
 * Which top-level folders each folder may import from (its own always). `infra/` holds the CommonJS plugins the
 * Serverless Framework loads by path; only tests read them, by file name (a `require` of a .cjs needs its extension).
 */
const ALLOWED: Record<Folder, readonly string[]> = {
  src: ['src'],
  functions: ['src'],
  scripts: ['src', 'functions', 'local'],
  local: ['src', 'functions'],
  bench: ['src', 'functions', 'scripts', 'local'],
  test: ['src', 'functions', 'scripts', 'local', 'bench', 'infra'],
};

const ALIAS = /^#(src|local|functions|scripts)\//;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

interface Edge {
  file: string;
  from: Folder;
  specifier: string;
  /** The top-level folder the specifier lands in, or undefined for a package. */
  to: string | undefined;
}

function topFolder(absPath: string): string {
  return relative(ROOT, absPath).split(sep)[0] ?? '';
}

function edges(): Edge[] {
  return FOLDERS.flatMap((from) =>
    tsFiles(join(ROOT, from)).flatMap((file) => {
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      return info.importedFiles.map(({ fileName: specifier }) => {
        const alias = ALIAS.exec(specifier);
        let to: string | undefined;
        if (alias) to = alias[1];
        else if (specifier.startsWith('.')) to = topFolder(resolve(dirname(file), specifier));
        return { file: relative(ROOT, file), from, specifier, to };
      });
    }),
  );
}

const ALL = edges();

describe('import direction', () => {
  it.each(['src', 'functions', 'local', 'bench', 'test'])(
    'sees the imports of %s (the parser reads the tree)',
    (folder) => {
      expect(ALL.some((e) => e.from === folder && e.to !== undefined)).toBe(true);
    },
  );

  it.each(FOLDERS)('%s imports only what it may', (folder) => {
    const allowed = new Set<string>([folder, ...ALLOWED[folder]]);
    const bad = ALL.filter((e) => e.from === folder && e.to !== undefined && !allowed.has(e.to));
    expect(bad.map((e) => `${e.file}: '${e.specifier}'`)).toEqual([]);
  });

  it('has no #test or #bench alias (nothing may import them but tests)', () => {
    expect(ALL.filter((e) => /^#(test|bench)\b/.test(e.specifier)).map((e) => e.file)).toEqual([]);
  });
});

describe('specifier style', () => {
  it('crosses a top-level folder only through an alias', () => {
    const bad = ALL.filter((e) => e.specifier.startsWith('.') && e.to !== e.from && e.to !== 'infra');
    expect(bad.map((e) => `${e.file}: '${e.specifier}'`)).toEqual([]);
  });

  it('uses relative specifiers within a folder', () => {
    const bad = ALL.filter((e) => ALIAS.test(e.specifier) && e.to === e.from);
    expect(bad.map((e) => `${e.file}: '${e.specifier}'`)).toEqual([]);
  });

  it('never writes a .js or .ts extension', () => {
    const bad = ALL.filter((e) => e.to !== undefined && e.to !== 'infra' && /\.(c|m)?(j|t)s$/.test(e.specifier));
    expect(bad.map((e) => `${e.file}: '${e.specifier}'`)).toEqual([]);
  });
});
