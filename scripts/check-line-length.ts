/**
 * Fails on any line over 120 characters in the sources (TypeScript, JavaScript, shell). Biome formats code to 120
 * but does not break strings or comments, so a long line gets through it: `npm run lint` runs this after Biome.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The longest line allowed, in characters (code points, as an editor counts them). */
export const MAX_LINE = 120;
const SOURCES = ['*.ts', '*.js', '*.cjs', '*.mjs', '*.sh'];

/** `file:line: n characters` for every line of `text` longer than `max`. */
export function longLines(file: string, text: string, max = MAX_LINE): string[] {
  return text.split('\n').flatMap((line, i) => {
    const n = [...line].length;
    return n > max ? [`${file}:${i + 1}: ${n} characters`] : [];
  });
}

function main(): number {
  const root = resolve(import.meta.dirname, '..');
  const files = execFileSync('git', ['ls-files', '-z', '--', ...SOURCES], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '');
  const found = files.flatMap((f) => longLines(f, readFileSync(join(root, f), 'utf8')));
  for (const line of found) process.stderr.write(`${line} (max ${MAX_LINE}; split the string or comment)\n`);
  return found.length > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) process.exitCode = main();
