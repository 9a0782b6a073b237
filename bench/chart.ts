/**
 * A hand-written SVG chart of one fleet burst (no charting dependency for two kinds of line plot): instances at
 * `ok 3/3` over time against the physical bound, and our and the tenant's requests per second per API action
 * against each bucket's refill rate and our share of it.
 */

/** One line: points (x seconds, y value). */
export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

/** One panel of the chart. */
export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
  /** Vertical markers (x seconds). */
  markers?: { x: number; label: string; color: string }[];
}

const esc = (s: string) =>
  s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);

/** A "nice" axis maximum at or above `v`: a round step × a power of ten, close enough that the data fills the panel. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const HALO = 'stroke="white" stroke-width="3" paint-order="stroke"';

function panelSvg(panel: Panel, x0: number, y0: number, w: number, h: number, xMax: number): string {
  const pad = { l: 48, r: 10, t: 22, b: 30 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const yMax = niceMax(Math.max(1, ...panel.series.flatMap((s) => s.points.map((p) => p[1]))) * 1.05);
  const sx = (x: number) => x0 + pad.l + (x / xMax) * pw;
  const sy = (y: number) => y0 + pad.t + ph - (y / yMax) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + pad.l}" y="${y0 + 15}" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
  out.push(
    `<rect x="${x0 + pad.l}" y="${y0 + pad.t}" width="${pw}" height="${ph}" fill="none" stroke="#999" ` +
      `stroke-width="0.5"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(
      `<line x1="${x0 + pad.l}" x2="${x0 + pad.l + pw}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`,
      `<text x="${x0 + pad.l - 4}" y="${sy(y) + 4}" font-size="10" text-anchor="end">${+y.toFixed(2)}</text>`,
    );
    const x = (xMax * i) / 4;
    out.push(
      `<text x="${sx(x)}" y="${y0 + pad.t + ph + 14}" font-size="10" text-anchor="middle">${Math.round(x)} s</text>`,
    );
  }
  out.push(
    `<text x="${x0 + 12}" y="${y0 + pad.t + ph / 2}" font-size="10" transform="rotate(-90 ${x0 + 12} ` +
      `${y0 + pad.t + ph / 2})" text-anchor="middle">${esc(panel.yLabel)}</text>`,
  );
  for (const m of panel.markers ?? []) {
    out.push(
      `<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${y0 + pad.t}" y2="${y0 + pad.t + ph}" stroke="${m.color}" ` +
        `stroke-dasharray="4 3"/>`,
      // At the foot of the line, left of it: the legend holds the top right corner.
      `<text x="${sx(m.x) - 3}" y="${y0 + pad.t + ph - 6}" font-size="10" text-anchor="end" ` +
        `fill="${m.color}" ${HALO}>${esc(m.label)}</text>`,
    );
  }
  for (const s of panel.series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(Math.min(x, xMax)).toFixed(1)},${sy(y).toFixed(1)}`)
      .join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" ` +
        `stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
  }
  // The legend after every line, with a white halo, so no line crosses its text.
  panel.series.forEach((s, i) => {
    out.push(
      `<text x="${x0 + pad.l + pw - 4}" y="${y0 + pad.t + 12 * (i + 1)}" font-size="10" text-anchor="end" ` +
        `fill="${s.color}" ${HALO}>${esc(s.name)}</text>`,
    );
  });
  return out.join('\n');
}

/** The chart: a title, then panels in a grid of `columns`, all sharing the time axis [0, xMax]. */
export function chartSvg(title: string, subtitle: string, panels: Panel[], xMax: number, columns = 2): string {
  const w = 560;
  const h = 240;
  const rows = Math.ceil(panels.length / columns);
  const width = w * columns;
  const height = 50 + rows * h;
  const body = panels.map((p, i) => panelSvg(p, (i % columns) * w, 50 + Math.floor(i / columns) * h, w, h, xMax));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="10" y="20" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Requests per second, as a moving average over `window` seconds, sampled every second. */
export function ratePoints(times: number[], xMax: number, window = 10): [number, number][] {
  const sorted = [...times].sort((a, b) => a - b);
  const points: [number, number][] = [];
  let lo = 0;
  let hi = 0;
  for (let t = 0; t <= xMax; t += 1) {
    while (hi < sorted.length && (sorted[hi] as number) < t) hi++;
    while (lo < hi && (sorted[lo] as number) < t - window) lo++;
    points.push([t, (hi - lo) / window]);
  }
  return points;
}
