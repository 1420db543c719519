// Small SVG charts drawn from data (no library, nothing fetched): a line over time or value with
// horizontal marks (floor, target, stretch), and grouped bars for the cash-flow projection.

const W = 640, H = 240, PAD = { l: 64, r: 16, t: 12, b: 32 };

function scale(min, max, from, to) {
  const span = max - min || 1;
  return (v) => from + ((v - min) / span) * (to - from);
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/** points: [{x, y}] (numbers); marks: [{y, label}]; xLabel(x), yLabel(y) format axis ticks. */
export function lineChart(title, points, marks, xLabel, yLabel) {
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y).concat(marks.map((m) => m.y));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = (y1 - y0) * 0.08 || 1;
  const low = y0 >= 0 ? Math.max(0, y0 - pad) : y0 - pad; // a payout is never drawn below zero
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1]; // one point: in the middle
  const sx = scale(x0, x1, PAD.l, W - PAD.r), sy = scale(low, y1 + pad, H - PAD.b, PAD.t);
  const line = points.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join("");
  const dots = points.length < 40 ? points.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="#0b5cad"/>`).join("") : "";
  const markLines = marks.map((m) => `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${sy(m.y).toFixed(1)}" y2="${sy(m.y).toFixed(1)}" stroke="#8a5300" stroke-dasharray="4 3"/>`
    + `<text x="${W - PAD.r}" y="${(sy(m.y) - 3).toFixed(1)}" text-anchor="end">${esc(m.label)}</text>`).join("");
  const ticks = [low, (low + y1 + pad) / 2, y1 + pad].map((y) => `<text x="${PAD.l - 6}" y="${sy(y).toFixed(1)}" text-anchor="end">${esc(yLabel(y))}</text>`).join("");
  const xticks = [...new Set(xs.length > 1 ? [Math.min(...xs), Math.max(...xs)] : xs)].map((x, i) => `<text x="${sx(x).toFixed(1)}" y="${H - 8}" text-anchor="${i ? "end" : "start"}">${esc(xLabel(x))}</text>`).join("");
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>`
    + `<line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#d6dae0"/><line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" stroke="#d6dae0"/>`
    + `${markLines}${ticks}${xticks}<path d="${line}" fill="none" stroke="#0b5cad" stroke-width="2"/>${dots}</svg>`;
}

/** groups: [{label, values: [best, expected, worst]}] (numbers). */
export function barChart(title, groups, series, yLabel) {
  const max = Math.max(1, ...groups.flatMap((g) => g.values));
  const sy = scale(0, max, H - PAD.b, PAD.t);
  const slot = (W - PAD.l - PAD.r) / Math.max(1, groups.length), bar = Math.min(24, slot / (series.length + 1));
  const colors = ["#0a6b2d", "#0b5cad", "#a4161a"];
  const bars = groups.map((g, i) => g.values.map((v, j) => {
    const x = PAD.l + i * slot + j * bar + bar / 2;
    return `<rect x="${x.toFixed(1)}" y="${sy(v).toFixed(1)}" width="${(bar - 2).toFixed(1)}" height="${(H - PAD.b - sy(v)).toFixed(1)}" fill="${colors[j]}"><title>${esc(`${g.label} ${series[j]}: ${yLabel(v)}`)}</title></rect>`;
  }).join("") + `<text x="${(PAD.l + i * slot + 2).toFixed(1)}" y="${H - 8}">${esc(g.label)}</text>`).join("");
  const legend = series.map((s, j) => `<rect x="${PAD.l + j * 110}" y="2" width="10" height="10" fill="${colors[j]}"/><text x="${PAD.l + j * 110 + 14}" y="11">${esc(s)}</text>`).join("");
  const ticks = [0, max / 2, max].map((y) => `<text x="${PAD.l - 6}" y="${sy(y).toFixed(1)}" text-anchor="end">${esc(yLabel(y))}</text>`).join("");
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>${legend}${ticks}${bars}</svg>`;
}
