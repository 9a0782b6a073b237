import { describe, expect, it } from 'vitest';
import { type CellResult, matrixMarkdown, stackEvents } from '#local/lab/booted/matrix';
import { STACKS, stack } from '#local/lab/booted/stacks';

describe('Booted guests: the matrix report', () => {
  it('every stack runs the common events, its manager events after no-change, timer last', () => {
    for (const st of STACKS) {
      const events = stackEvents(st);
      expect(events.slice(0, 3)).toEqual(['boot', 'install', 'no-change']);
      expect(events.slice(3, 3 + st.events.length)).toEqual(st.events.map((e) => `manager: ${e.id}`));
      expect(events.at(-1)).toBe('timer');
      expect(new Set(events).size).toBe(events.length);
    }
  });

  it('renders stacks × events with pass/FAIL, repair seconds and the failures listed', () => {
    const results: CellResult[] = [
      { stack: 'ifupdown', event: 'boot', pass: true, repairMs: 2400, note: '' },
      { stack: 'ifupdown', event: 'manager: restart networking', pass: false, note: 'not repaired: 10.0.0.11' },
      { stack: 'networkmanager', event: 'boot', pass: true, repairMs: 3100, note: '' },
    ];
    const md = matrixMarkdown(results, [stack('ifupdown'), stack('networkd-per-eni'), stack('networkmanager')], 'M');
    const lines = md.split('\n');
    expect(lines[0]).toBe('M');
    const rows = lines.filter((l) => l.startsWith('|')).map((l) => l.replace(/ +/g, ' '));
    expect(rows).toContain('| event | `ifupdown` | `networkmanager` |');
    expect(rows).toContain('| boot | pass 2.4 s | pass 3.1 s |');
    expect(rows).toContain('| manager: restart networking | **FAIL** | |');
    // Aligned: every table line has the same length.
    expect(new Set(lines.filter((l) => l.startsWith('|')).map((l) => l.length)).size).toBe(1);
    expect(lines).toContain('- `ifupdown` / manager: restart networking: not repaired: 10.0.0.11');
  });
});
