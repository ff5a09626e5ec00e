// Small SVG charts. Each point or bar carries a <title> (its numbers on hover) and every chart is
// shown with a table of the same numbers below it, for keyboards and screen readers.
import { fmt } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const W = 560, H = 220, PAD = { l: 48, r: 12, t: 12, b: 34 };

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function frame(label) {
  return s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
}

function axes(svg, yMax, yFormat) {
  const y0 = H - PAD.b;
  svg.append(s("line", { x1: PAD.l, y1: y0, x2: W - PAD.r, y2: y0, stroke: "#6b7280" }));
  svg.append(s("line", { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: y0, stroke: "#6b7280" }));
  for (const f of [0, 0.5, 1]) {
    const y = y0 - f * (y0 - PAD.t);
    svg.append(s("text", { x: PAD.l - 4, y: y + 4, "text-anchor": "end" }, yFormat(f * yMax)));
  }
}

/** Lines over x in [0, xMax]; `series` is [{name, color, points: [[x, y], ...]}]. */
export function lineChart(label, series, { xMax, yMax, xFormat = fmt, yFormat = fmt } = {}) {
  const svg = frame(label);
  const all = series.flatMap((d) => d.points);
  xMax = xMax ?? Math.max(1e-9, ...all.map((p) => p[0]));
  yMax = yMax ?? Math.max(1e-9, ...all.map((p) => p[1]));
  const X = (x) => PAD.l + (x / xMax) * (W - PAD.l - PAD.r);
  const Y = (y) => H - PAD.b - (y / yMax) * (H - PAD.t - PAD.b);
  axes(svg, yMax, yFormat);
  for (const f of [0, 0.5, 1]) {
    svg.append(s("text", { x: X(f * xMax), y: H - PAD.b + 16, "text-anchor": "middle" }, xFormat(f * xMax)));
  }
  series.forEach((d, i) => {
    const path = d.points.map((p, j) => `${j ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
    svg.append(s("path", { d: path, fill: "none", stroke: d.color, "stroke-width": 2 }));
    const step = Math.max(1, Math.ceil(d.points.length / 40));
    d.points.forEach((p, j) => {
      if (j % step && j !== d.points.length - 1) return;
      svg.append(s("circle", { cx: X(p[0]), cy: Y(p[1]), r: 3, fill: d.color },
        s("title", {}, `${d.name}: ${xFormat(p[0])} → ${yFormat(p[1])}`)));
    });
    svg.append(s("text", { x: W - PAD.r, y: PAD.t + 12 + 14 * i, "text-anchor": "end", fill: d.color }, d.name));
  });
  return svg;
}

/** Vertical bars; `bars` is [{label, value}]. */
export function barChart(label, bars, { yFormat = fmt, color = "#1d4ed8" } = {}) {
  const svg = frame(label);
  const yMax = Math.max(1e-9, ...bars.map((b) => b.value));
  axes(svg, yMax, yFormat);
  const slot = (W - PAD.l - PAD.r) / Math.max(1, bars.length);
  bars.forEach((b, i) => {
    const hgt = (b.value / yMax) * (H - PAD.t - PAD.b);
    const x = PAD.l + i * slot + slot * 0.15;
    svg.append(s("rect", { x, y: H - PAD.b - hgt, width: slot * 0.7, height: hgt, fill: color },
      s("title", {}, `${b.label}: ${yFormat(b.value)}`)));
    if (bars.length <= 16) {
      svg.append(s("text", { x: x + slot * 0.35, y: H - PAD.b + 16, "text-anchor": "middle" }, String(b.label).slice(0, 12)));
    }
  });
  return svg;
}

/** A heat map of shares in [0, 1]: `rows` is [{label, cells: [number|null]}]. */
export function heatMap(label, columns, rows) {
  const cw = 40, ch = 20, left = 90, top = 22;
  const svg = s("svg", {
    class: "chart", role: "img", "aria-label": label,
    viewBox: `0 0 ${left + cw * columns.length + 4} ${top + ch * rows.length + 4}`,
  });
  columns.forEach((c, j) => svg.append(s("text", { x: left + j * cw + cw / 2, y: 14, "text-anchor": "middle" }, c)));
  rows.forEach((r, i) => {
    svg.append(s("text", { x: left - 6, y: top + i * ch + 14, "text-anchor": "end" }, r.label));
    r.cells.forEach((v, j) => {
      if (v === null || v === undefined) return;
      const light = Math.round(97 - 60 * Math.min(1, Math.max(0, v)));
      svg.append(s("rect", { x: left + j * cw, y: top + i * ch, width: cw - 2, height: ch - 2, fill: `hsl(221 83% ${light}%)` },
        s("title", {}, `${r.label}, ${columns[j]}: ${(100 * v).toFixed(1)} %`)));
      svg.append(s("text", {
        x: left + j * cw + cw / 2 - 1, y: top + i * ch + 14, "text-anchor": "middle",
        fill: light < 60 ? "#fff" : "#1f2937",
      }, (100 * v).toFixed(0)));
    });
  });
  return svg;
}
