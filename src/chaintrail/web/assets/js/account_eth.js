// The Account tab for an Ethereum account or entity (GET /account?chain=eth, the same figures as
// `chaintrail account --chain eth`): per asset, the balance reconciled in the asset's units and in fiat at cost,
// sources and uses of funds per counterparty, receipts and disbursements by month, FIFO gains, and the balance
// over time. Amounts are exact base units shown with the asset's decimals; fiat sits beside every amount.

import { fmtCents, fmtUnits, h } from "./format.js";
import { t as _t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";

function table(testid, asset, head, rows) {
  return h("table", { "data-testid": testid, "data-asset": asset },
    h("thead", {}, h("tr", {}, head.map(([label, num]) => h("th", { class: num ? "num" : "" }, label)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: head[i][1] ? "num" : "" }, c))))));
}

// One asset's schedules; ``u`` formats its base units, ``cur`` is the reporting currency.
function assetBlock(a, cur) {
  const unit = a.symbol || a.asset;
  const u = (v) => fmtUnits(v, a.decimals, unit);
  const fiat = (c, unpriced) => (a.price_series === null || unpriced ? fmtCents(null, cur) : fmtCents(c, cur));
  const tt = a.totals;
  const groups = (testid, rows) => table(testid, a.asset,
    [[_t("col.category")], [_t("account.counterparty")], [_t("account.flows"), 1], [unit, 1], [cur, 1]],
    rows.map((g) => [g.category, g.name, String(g.flows), u(g.amount), fiat(g.fiat_cents, g.unpriced)]));
  return h("section", { class: "account-asset", "data-testid": "account-asset", "data-asset": a.asset },
    h("h3", {}, unit, " ", a.asset !== "ETH" ? h("span", { class: "mono muted" }, a.asset) : null),
    h("p", { class: "muted", "data-testid": "account-price-note" }, a.price_note),
    table("account-totals", a.asset, [[""], [unit, 1], [_t("account.cost", { currency: cur }), 1]], [
      [_t("account.opening"), u(tt.opening), fiat(tt.opening_cost_cents)],
      [_t("account.plus_sources"), u(tt.sources), fiat(tt.sources_cents)],
      [_t("account.minus_uses"), u(tt.uses), fiat(tt.uses_cents)],
      [_t("account.plus_gain"), "", fiat(tt.realised_gain_cents)],
      [_t("account.closing"), u(tt.closing), fiat(tt.closing_cost_cents)],
      [_t("account.at_market", { day: tt.closing_day || "–" }), "", fmtCents(tt.closing_market_cents, cur)]]),
    a.note ? h("p", { class: "warnbox" }, a.note) : null,
    chart(a.balance, a.decimals, unit, a.asset),
    h("h4", {}, _t("account.sources")), groups("account-sources", a.sources),
    h("h4", {}, _t("account.uses")), groups("account-uses", a.uses),
    h("h4", {}, _t("account.monthly")),
    table("account-monthly", a.asset, [[_t("account.month")], [_t("account.receipts"), 1], [cur, 1], [_t("account.disbursements"), 1], [cur, 1]],
      a.monthly.map((m) => [m.month, u(m.receipts), fiat(m.receipts_cents), u(m.disbursements), fiat(m.disbursements_cents)])),
    a.price_series === null ? null : h("h4", {}, _t("account.gains", { method: "FIFO" })),
    a.price_series === null ? null : table("account-gains", a.asset,
      [[_t("account.day")], [unit, 1], [_t("account.proceeds", { currency: cur }), 1], [_t("account.cost", { currency: cur }), 1],
        [_t("account.gain", { currency: cur }), 1]],
      a.disposals.map((d) => [d.day, u(d.amount), fmtCents(d.fiat_cents, cur), fmtCents(d.cost_cents, cur), fmtCents(d.gain_cents, cur)])));
}

// Render the whole answer into ``box``.
export function render(box, r) {
  const cur = r.currency, s = r.subject;
  const head = s.kind === "entity"
    ? _t("account.head_eth_entity", { id: s.id, n: s.addresses, from: r.period.from || "–", to: r.period.to || "–" })
    : _t("account.head_eth", { id: s.id, from: r.period.from || "–", to: r.period.to || "–" });
  box.replaceChildren(
    h("p", { "data-testid": "account-head" }, head),
    h("p", { class: "muted" }, r.convention),
    ...r.assets.map((a) => assetBlock(a, cur)),
    h("p", { class: "muted", "data-testid": "account-prices" }, r.prices.map((p) =>
      _t("account.prices", { asset: p.asset, currency: p.currency, source: p.source || "?", file: p.file || "?", licence: p.licence || "?" })).join(" · ")),
    r.missing_prices.length ? h("p", { class: "warnbox" }, _t("account.missing", { days: r.missing_prices.join(", ") })) : null);
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.append(document.createTextNode(text));
  return e;
}

// The balance after each transaction as a step line; balances are exact base units (BigInt), scaled for drawing.
function chart(points, decimals, unit, asset) {
  const W = 520, H = 150, L = 8, R = 8, T = 14, B = 20;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "data-testid": "account-chart",
    "data-asset": asset, "data-points": points.length, "aria-label": _t("account.chart_title") });
  if (!points.length) {
    svg.append(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#6b7480" }, _t("account.no_movements")));
    return svg;
  }
  const vals = points.map((p) => Number(BigInt(p.balance)) / 10 ** (decimals || 0));
  const t0 = points[0].time, t1 = points[points.length - 1].time;
  const top = Math.max(...vals, 0), low = Math.min(...vals, 0);
  const span = top - low || 1;
  const x = (tm) => L + (t1 > t0 ? (tm - t0) / (t1 - t0) : 0.5) * (W - L - R);
  const y = (v) => T + (1 - (v - low) / span) * (H - T - B);
  let d = "";
  points.forEach((p, i) => {
    d += i === 0 ? `M${x(p.time).toFixed(1)},${y(vals[i]).toFixed(1)}` : `H${x(p.time).toFixed(1)}V${y(vals[i]).toFixed(1)}`;
  });
  svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#c9ced6" }),
    svgEl("path", { d, fill: "none", stroke: "#0077b6", "stroke-width": 2 }),
    svgEl("text", { x: L, y: T - 3, "font-size": 11, fill: "#6b7480" }, `${top.toLocaleString()} ${unit}`),
    svgEl("text", { x: L, y: H - 5, "font-size": 11, fill: "#6b7480" }, points[0].day),
    svgEl("text", { x: W - R, y: H - 5, "font-size": 11, fill: "#6b7480", "text-anchor": "end" }, points[points.length - 1].day));
  points.forEach((p, i) => {
    const c = svgEl("circle", { cx: x(p.time).toFixed(1), cy: y(vals[i]).toFixed(1), r: 3, fill: "#0077b6", "data-balance": p.balance });
    c.append(svgEl("title", {}, `${p.day} · ${fmtUnits(p.balance, decimals, unit)} · ${p.tx_hash || ""}`));
    svg.append(c);
  });
  return svg;
}
