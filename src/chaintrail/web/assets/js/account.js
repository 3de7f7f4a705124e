// The Account tab: forensic-accounting schedules of the selected address or entity (GET /account, the same
// figures as `chaintrail account`): the balance reconciled, sources and uses of funds per counterparty,
// receipts and disbursements by month, gains by lot, and the balance over time as a small inline SVG chart.

import * as api from "./api.js";
import { render as renderEth } from "./account_eth.js";
import { priceNotes, stepChart, table } from "./account_parts.js";
import { fmtBTC, fmtCents, h } from "./format.js";
import { t as _t } from "./i18n.js";

let current = null;    // the subject shown (address or cluster:N) and its chain
let chain = "btc";      // btc | eth (an Ethereum account or entity: per asset, FIFO lots)
let runs = 0;          // computations started: only the latest one renders

function form(el, subject) {
  const f = h("form", { id: "account-form", class: "row" },
    h("label", {}, h("span", {}, _t("account.subject")), " ", h("input", { id: "account-subject", value: subject || "", required: true })),
    h("label", {}, h("span", {}, _t("account.from")), " ", h("input", { id: "account-from", type: "date" })),
    h("label", {}, h("span", {}, _t("account.to")), " ", h("input", { id: "account-to", type: "date" })),
    h("label", {}, h("span", {}, _t("account.lots")), " ", h("select", { id: "account-lots" },
      h("option", { value: "fifo" }, "FIFO"), h("option", { value: "specific" }, _t("account.lots_specific")))),
    h("label", {}, h("span", {}, _t("account.currency")), " ", h("select", { id: "account-currency" },
      h("option", {}, "USD"), h("option", {}, "EUR"))),
    h("button", { id: "account-run", type: "submit" }, _t("account.run")));
  f.addEventListener("submit", (ev) => { ev.preventDefault(); run(el).catch(() => {}); });
  return f;
}

// Show the tab for ``subject`` (an address or cluster:N; on ``chainName`` eth a 0x account or an Ethereum
// entity's cluster:N) and compute its schedules.
export async function show(el, subject, chainName = "btc") {
  if (!el.querySelector("#account-form")) el.replaceChildren(form(el, subject), h("div", { id: "account-result" }));
  const changed = subject && (`${chainName}:${subject}` !== current);
  if (subject) {
    chain = chainName;
    el.querySelector("#account-subject").value = subject;
    const lots = el.querySelector("#account-lots");
    lots.disabled = chain === "eth";
    if (chain === "eth") lots.value = "fifo";
    el.querySelector("#account-form").dataset.chain = chain;
  }
  if (changed) await run(el);
}

async function run(el) {
  const box = el.querySelector("#account-result");
  const subject = el.querySelector("#account-subject").value.trim();
  if (/^0x[0-9a-fA-F]{40}$/.test(subject)) chain = "eth";     // an Ethereum account typed in
  const params = { subject, lots: el.querySelector("#account-lots").value, currency: el.querySelector("#account-currency").value };
  if (chain === "eth") params.chain = "eth";
  const from = el.querySelector("#account-from").value;
  const to = el.querySelector("#account-to").value;
  if (from) params.date_from = from;
  if (to) params.date_to = to;
  const mine = ++runs, ch = chain;    // a slower earlier answer must not replace a later one's
  current = `${chain}:${subject}`;
  box.replaceChildren(h("p", { class: "muted" }, _t("status.loading")));
  try {
    const r = await api.get("/account", params);
    if (mine === runs) (ch === "eth" ? renderEth : render)(box, r);
  } catch (err) {
    if (mine === runs) box.replaceChildren(h("p", { class: "error", "data-testid": "account-error" }, err.message));
  }
}

function groups(testid, rows, cur) {
  return table(testid, [[_t("col.category")], [_t("account.counterparty")], [_t("account.txs"), 1], ["BTC", 1], [cur, 1]],
    rows.map((g) => [g.category, g.name, String(g.txs), fmtBTC(g.sat), fmtCents(g.unpriced ? null : g.fiat_cents, cur)]));
}

function render(box, r) {
  const cur = r.currency, tt = r.totals;
  const s = r.subject;
  box.replaceChildren(
    h("p", { "data-testid": "account-head" }, _t("account.head", { kind: s.kind, id: s.id, from: r.period.from || "–", to: r.period.to || "–",
      lots: r.lot_method === "fifo" ? "FIFO" : _t("account.lots_specific") })),
    h("p", { class: "muted" }, r.convention),
    h("h3", {}, _t("account.balance_title")),
    table("account-totals", [[""], ["BTC", 1], [_t("account.cost", { currency: cur }), 1]], [
      [_t("account.opening"), fmtBTC(tt.opening_sat), fmtCents(tt.opening_cost_cents, cur)],
      [_t("account.plus_sources"), fmtBTC(tt.sources_sat), fmtCents(tt.sources_cents, cur)],
      [_t("account.minus_uses"), fmtBTC(tt.uses_sat), fmtCents(tt.uses_cents, cur)],
      [_t("account.plus_gain"), "", fmtCents(tt.realised_gain_cents, cur)],
      [_t("account.closing"), fmtBTC(tt.closing_sat), fmtCents(tt.closing_cost_cents, cur)],
      [_t("account.at_market", { day: tt.closing_day || "–" }), "", fmtCents(tt.closing_market_cents, cur)]]),
    h("h3", {}, _t("account.chart_title")), chart(r.balance),
    h("h3", {}, _t("account.sources")), groups("account-sources", r.sources, cur),
    h("h3", {}, _t("account.uses")), groups("account-uses", r.uses, cur),
    h("h3", {}, _t("account.monthly")),
    table("account-monthly", [[_t("account.month")], [_t("account.receipts"), 1], [cur, 1], [_t("account.disbursements"), 1], [cur, 1]],
      r.monthly.map((m) => [m.month, fmtBTC(m.receipts_sat), fmtCents(m.receipts_cents, cur), fmtBTC(m.disbursements_sat),
        fmtCents(m.disbursements_cents, cur)])),
    h("h3", {}, _t("account.gains", { method: r.lot_method === "fifo" ? "FIFO" : _t("account.lots_specific") })),
    table("account-gains", [[_t("account.day")], ["BTC", 1], [_t("account.proceeds", { currency: cur }), 1], [_t("account.cost", { currency: cur }), 1],
      [_t("account.gain", { currency: cur }), 1]],
    r.disposals.map((d) => [d.day, fmtBTC(d.sat), fmtCents(d.fiat_cents, cur), fmtCents(d.cost_cents, cur), fmtCents(d.gain_cents, cur)])),
    ...priceNotes(r));
}

// The balance after each transaction as a step line: x by time, y from 0 to the largest balance.
function chart(points) {
  const vals = points.map((p) => p.balance_sat);
  const top = Math.max(1, ...vals);
  return stepChart(points, vals, { height: 180, low: 0, top, topLabel: fmtBTC(top), balance: (p) => p.balance_sat,
    title: (p) => `${p.day} · ${fmtBTC(p.balance_sat)} · ${p.txid}` });
}
