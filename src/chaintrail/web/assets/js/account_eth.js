// The Account tab for an Ethereum account or entity (GET /account?chain=eth, the same figures as
// `chaintrail account --chain eth`): per asset, the balance reconciled in the asset's units and in fiat at cost,
// sources and uses of funds per counterparty, receipts and disbursements by month, FIFO gains, and the balance
// over time. Amounts are exact base units shown with the asset's decimals; fiat sits beside every amount.

import { priceNotes, stepChart, table as schedule } from "./account_parts.js";
import { fmtCents, fmtUnits, h } from "./format.js";
import { t as _t } from "./i18n.js";

function table(testid, asset, head, rows) {
  return schedule(testid, head, rows, asset);
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
    ...priceNotes(r));
}

// The balance after each transaction as a step line; balances are exact base units (BigInt), scaled for drawing.
function chart(points, decimals, unit, asset) {
  const vals = points.map((p) => Number(BigInt(p.balance)) / 10 ** (decimals || 0));
  const top = Math.max(...vals, 0);
  return stepChart(points, vals, { height: 150, low: Math.min(...vals, 0), top, topLabel: `${top.toLocaleString()} ${unit}`,
    balance: (p) => p.balance, title: (p) => `${p.day} · ${fmtUnits(p.balance, decimals, unit)} · ${p.tx_hash || ""}`,
    attrs: { "data-asset": asset } });
}
