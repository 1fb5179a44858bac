// Small SVG charts for the dashboard: bars (stacked when there are several series) and lines over
// the same steps of time. Built with createElementNS like dom.js builds HTML: every label is a Text
// node. Each mark carries its value in data-value and a <title> (the browser's tooltip).

import {h} from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 170, LEFT = 52, BOTTOM = 22, TOP = 8;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A round ceiling for the y axis (1, 2 or 5 times a power of ten). */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** "2026-12-01 10:05:00.000Z" -> "10:05" (or "12-01 10:05" when the window spans days). */
function tick(date, withDay) {
  const d = String(date);
  return withDay ? `${d.slice(5, 10)} ${d.slice(11, 16)}` : d.slice(11, 16);
}

/**
 * A chart of `series` ([{name, cls, values}], values aligned with `dates`); `kind` "bars" or
 * "lines"; `format` turns a value into text; `max` fixes the y axis (a rate's 1).
 */
export function chart({id, title, dates, series, kind = "bars", format = String, max}) {
  const n = dates.length;
  const plotW = W - LEFT - 4, plotH = H - TOP - BOTTOM;
  const stacked = dates.map((_, i) => series.reduce((a, sr) => a + (sr.values[i] || 0), 0));
  const top = max ?? niceMax(Math.max(0, ...(kind === "bars" ? stacked : series.flatMap((sr) => sr.values.filter((v) => v != null)))));
  const x = (i) => LEFT + (plotW * i) / Math.max(n, 1);
  const y = (v) => TOP + plotH - (plotH * Math.min(v, top)) / top;
  const withDay = n > 1 && String(dates[0]).slice(0, 10) !== String(dates[n - 1]).slice(0, 10);
  const marks = [];
  if (kind === "bars") {
    const bw = Math.max(1, plotW / Math.max(n, 1) - 1);
    dates.forEach((date, i) => {
      let base = 0;
      for (const sr of series) {
        const v = sr.values[i] || 0;
        if (v > 0) {
          marks.push(s("rect", {class: `mark ${sr.cls}`, x: x(i).toFixed(1), y: y(base + v).toFixed(1), width: bw.toFixed(1),
            height: (y(base) - y(base + v)).toFixed(1), "data-series": sr.name, "data-value": v, "data-date": date},
            s("title", {}, `${date}: ${format(v)} ${sr.name}`)));
        }
        base += v;
      }
    });
  } else {
    const step = plotW / Math.max(n, 1);
    for (const sr of series) {
      // A gap (no request in a step) breaks the line rather than drawing a zero.
      let d = "", pen = false;
      sr.values.forEach((v, i) => {
        if (v == null) { pen = false; return; }
        d += `${pen ? "L" : "M"}${(x(i) + step / 2).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
        marks.push(s("circle", {class: `mark ${sr.cls}`, cx: (x(i) + step / 2).toFixed(1), cy: y(v).toFixed(1), r: 2,
          "data-series": sr.name, "data-value": v, "data-date": dates[i]}, s("title", {}, `${dates[i]}: ${format(v)} ${sr.name}`)));
      });
      if (d) marks.unshift(s("path", {class: `line ${sr.cls}`, d, fill: "none"}));
    }
  }
  const axis = [
    s("line", {class: "axis", x1: LEFT, y1: TOP + plotH, x2: W - 4, y2: TOP + plotH}),
    s("line", {class: "grid", x1: LEFT, y1: TOP, x2: W - 4, y2: TOP}),
    s("text", {class: "tick", x: LEFT - 4, y: TOP + 4, "text-anchor": "end"}, format(top)),
    s("text", {class: "tick", x: LEFT - 4, y: TOP + plotH, "text-anchor": "end"}, format(0)),
  ];
  if (n) {
    axis.push(s("text", {class: "tick", x: LEFT, y: H - 6}, tick(dates[0], withDay)));
    axis.push(s("text", {class: "tick", x: W - 4, y: H - 6, "text-anchor": "end"}, tick(dates[n - 1], withDay)));
  }
  const legend = series.length > 1
    ? h("ul", {class: "legend"}, series.map((sr) => h("li", {class: sr.cls}, sr.name))) : null;
  return h("figure", {class: "chart", id},
    h("figcaption", {}, title), legend, // times on the x axis are UTC
    s("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title}, axis, marks));
}
