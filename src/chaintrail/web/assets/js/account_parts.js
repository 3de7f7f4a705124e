// What the Bitcoin and the Ethereum Account tabs draw the same way: a schedule table, the balance as a step
// chart, and the notes naming each price series used and any day without a price.

import { h } from "./format.js";
import { t as _t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";

// ``head``: [label, numeric?] per column; ``asset``: the Ethereum asset the table belongs to (none for Bitcoin).
export function table(testid, head, rows, asset) {
  return h("table", { "data-testid": testid, "data-asset": asset },
    h("thead", {}, h("tr", {}, head.map(([label, num]) => h("th", { class: num ? "num" : "" }, label)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: head[i][1] ? "num" : "" }, c))))));
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.append(document.createTextNode(text));
  return e;
}

// The balance after each transaction as a step line: x by time, y from ``low`` to ``top``. ``vals`` are the
// drawn balances (one per point); ``topLabel`` labels the top; ``balance(p)`` goes in each point's
// data-balance and ``title(p)`` in its tooltip; ``attrs`` are extra attributes of the <svg>.
export function stepChart(points, vals, { height, low, top, topLabel, balance, title, attrs = {} }) {
  const W = 520, H = height, L = 8, R = 8, T = 14, B = 20;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "data-testid": "account-chart",
    ...attrs, "data-points": points.length, "aria-label": _t("account.chart_title") });
  if (!points.length) {
    svg.append(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#6b7480" }, _t("account.no_movements")));
    return svg;
  }
  const t0 = points[0].time, t1 = points[points.length - 1].time;
  const span = top - low || 1;
  const x = (tm) => L + (t1 > t0 ? (tm - t0) / (t1 - t0) : 0.5) * (W - L - R);
  const y = (v) => T + (1 - (v - low) / span) * (H - T - B);
  let d = "";
  points.forEach((p, i) => {
    d += i === 0 ? `M${x(p.time).toFixed(1)},${y(vals[i]).toFixed(1)}` : `H${x(p.time).toFixed(1)}V${y(vals[i]).toFixed(1)}`;
  });
  svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#c9ced6" }),
    svgEl("path", { d, fill: "none", stroke: "#0077b6", "stroke-width": 2 }),
    svgEl("text", { x: L, y: T - 3, "font-size": 11, fill: "#6b7480" }, topLabel),
    svgEl("text", { x: L, y: H - 5, "font-size": 11, fill: "#6b7480" }, points[0].day),
    svgEl("text", { x: W - R, y: H - 5, "font-size": 11, fill: "#6b7480", "text-anchor": "end" }, points[points.length - 1].day));
  points.forEach((p, i) => {
    const c = svgEl("circle", { cx: x(p.time).toFixed(1), cy: y(vals[i]).toFixed(1), r: 3, fill: "#0077b6", "data-balance": balance(p) });
    c.append(svgEl("title", {}, title(p)));
    svg.append(c);
  });
  return svg;
}

// The price series the figures rest on (source, file, licence) and the days that had no price, as nodes for
// replaceChildren (which would show a null as the text "null": the warning is left out, not nulled).
export function priceNotes(r) {
  const notes = [h("p", { class: "muted", "data-testid": "account-prices" }, r.prices.map((p) =>
    _t("account.prices", { asset: p.asset, currency: p.currency, source: p.source || "?", file: p.file || "?", licence: p.licence || "?" })).join(" · "))];
  if (r.missing_prices.length) notes.push(h("p", { class: "warnbox" }, _t("account.missing", { days: r.missing_prices.join(", ") })));
  return notes;
}
