// Ethereum in the details panel and the tooltips: an account (balances per asset, contract, token, deposit
// pattern, tags, its flows a page at a time, screening with the issuer-freeze note), a transaction, a swap.

import * as api from "./api.js";
import * as eth from "./eth.js";
import { fiatLine } from "./fiat_marks.js";
import { chip, fmtTime, h, kv, riskName, short } from "./format.js";
import { t as _t, tOr } from "./i18n.js";

const PAGE = 50;
const LEVEL_COLORS = { low: "#2a9d8f", medium: "#d4a106", high: "#e85d04", severe: "#c1121f" };

function tagRows(tags) {
  if (!tags || !tags.length) return h("p", { class: "muted" }, _t("tags.none"));
  return h("table", { class: "tags" },
    h("thead", {}, h("tr", {}, h("th", {}, _t("col.label")), h("th", {}, _t("col.category")), h("th", {}, _t("col.source")))),
    h("tbody", {}, tags.map((t) => h("tr", {}, h("td", {}, t.label || "?"), h("td", {}, t.category || t.kind || ""),
      h("td", { class: "mono" }, [t.source, t.provenance].filter(Boolean).join(" · "))))));
}

export async function showAccount(el, address, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, _t("status.loading")));
  const a = await eth.account(address);
  const c = a.contract, t = a.token, d = a.deposit_address;
  el.replaceChildren(...[
    h("h3", {}, t ? _t("eth.token_contract", { symbol: t.symbol || "?" }) : a.is_contract ? _t("eth.contract") : _t("eth.account"), " ",
      h("span", { class: "muted" }, "(Ethereum)")),
    h("div", { class: "mono", "data-testid": "eth-account" }, a.address),
    ctx.noteFor(`x:${a.address}`) ? h("div", { class: "note" }, ctx.noteFor(`x:${a.address}`)) : null,
    kv([
      [_t("addr.entity"), _t("eth.entity_accounts", { id: String(a.cluster), n: a.cluster_size })],
      [_t("eth.first_block"), a.first_block === null ? "–" : String(a.first_block)],
      [_t("eth.value_flows_kv"), _t("eth.count", { n: a.n_flows })],
      c ? [_t("eth.contract_kv"), _t("eth.created", { block: String(c.block_number ?? "?"), creator: c.creator || "?" }) +
        (c.proxy_implementation ? ` · ${_t("eth.proxy_to", { address: c.proxy_implementation })}` : "")] : undefined,
      t ? [_t("legend.token"), _t("eth.token_info", { name: t.name || "?", symbol: t.symbol || "?", decimals: String(t.decimals ?? "?") })] : undefined,
      d ? [_t("eth.deposit_address"), _t("eth.of_hot_wallet", { wallet: d.hot_wallet, kind: d.kind, evidence: d.evidence || "" })] : undefined,
    ].filter(Boolean)),
    h("h3", {}, _t("eth.balances")),
    h("table", { "data-testid": "eth-balances" }, h("thead", {}, h("tr", {}, h("th", {}, _t("eth.col.asset")), h("th", { class: "num" }, _t("eth.col.net_change")), h("th", { class: "num" }, _t("eth.col.flows")))),
      h("tbody", {}, a.balances.map((b) => h("tr", { title: eth.exact(b.asset, b.net_change) },
        h("td", {}, b.symbol || short(b.asset, 12), b.asset !== "ETH" ? h("div", { class: "mono muted" }, b.asset) : null),
        h("td", { class: "num" }, eth.amount(b.asset, b.net_change)), h("td", { class: "num" }, String(b.flows)))))),
    h("h3", {}, _t("tags.title")), tagRows(a.tags),
    h("div", { class: "row" },
      h("button", { id: "btn-eth-screen", onclick: () => screen(el, a.address) }, _t("screen.button")),
      h("button", { onclick: () => ctx.traceFrom(a.address) }, _t("eth.trace_from_here")),
      ctx.openSchedule ? h("button", { id: "btn-eth-account", onclick: () => ctx.openSchedule(a.address) }, _t("account.open")) : null,
      ctx.openSchedule && a.cluster_size > 1 ? h("button", { id: "btn-eth-entity-account", onclick: () => ctx.openSchedule(`cluster:${a.cluster}`) },
        _t("account.open_entity", { n: a.cluster_size })) : null,
      h("span", { class: "muted" }, _t("eth.screen_hint"))),
    h("div", { class: "screen-result" }),
  ].filter(Boolean));
  await flowPage(el, a.address, 0, ctx);
}

async function screen(el, subject) {
  const box = el.querySelector(".screen-result");
  box.replaceChildren(h("p", { class: "muted" }, _t("status.screening")));
  try {
    const r = await api.get("/eth/screen", { subject, hops: 3 });
    box.replaceChildren(...[
      h("h3", { "data-testid": "eth-risk-level" }, _t("screen.risk"), " ", chip(tOr(`level.${r.risk.level}`, r.risk.level).toUpperCase(), LEVEL_COLORS[r.risk.level] || "#6b7480")),
      h("ul", {}, r.risk.reasons.map((x) => h("li", {}, h("b", {}, tOr(`level.${x.level}`, x.level)), " ", x.text))),
      r.freeze.length ? h("div", { class: "warnbox", "data-testid": "eth-freeze" }, r.freeze.map((f) => h("div", {},
        f.action || _t("eth.freeze", { symbol: f.symbol || f.asset, subject })))) : null,
      r.exposures.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("col.direction")), h("th", {}, _t("col.category")),
        h("th", { class: "num" }, _t("col.amount")), h("th", { class: "num" }, _t("col.share")), h("th", { class: "num" }, _t("col.hops")))),
        h("tbody", {}, r.exposures.map((e) => h("tr", { title: eth.exact(e.asset, String(e.amount)) }, h("td", {}, tOr(`exposure.${e.direction}`, e.direction)),
          h("td", {}, riskName(e.category)), h("td", { class: "num" }, eth.amount(e.asset, String(e.amount), 6)),
          h("td", { class: "num" }, `${(e.share * 100).toFixed(2)}%`), h("td", { class: "num" }, `${e.min_hops}–${e.max_hops}`))))) : null,
      h("p", { class: "muted" }, _t("eth.sanctions", {
        lists: r.sanction_lists.map((l) => `${l.list || l.file} (${l.date || _t("eth.undated")})`).join("; ") || _t("eth.none_loaded"),
        as_of: r.as_of })),
    ].filter(Boolean));
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, err.message));
  }
}

async function flowPage(el, address, offset, ctx) {
  const page = await api.get(`/eth/addresses/${address}/flows`, { offset, limit: PAGE });
  const old = el.querySelector(".eth-flows");
  const box = h("div", { class: "eth-flows" },
    h("h3", {}, _t("eth.flows_page", { from: page.total ? offset + 1 : 0, to: offset + page.items.length, total: page.total })),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("tx.block")), h("th", {}, "tx"), h("th", {}, _t("col.kind")), h("th", {}, _t("eth.col.counterparty")),
      h("th", { class: "num" }, _t("col.amount")))),
    h("tbody", {}, page.items.map((f) => h("tr", { class: f.tx_hash ? "clickable" : "", title: eth.exact(f.asset, f.amount),
      onclick: f.tx_hash ? () => ctx.openTx(f.tx_hash) : null },
      h("td", {}, String(f.block_number)), h("td", { class: "mono" }, short(f.tx_hash || "", 12)), h("td", {}, eth.flowKind(f.kind)),
      h("td", { class: "mono" }, f.direction === "in" ? _t("eth.from_addr", { address: short(f.from, 12) }) : _t("eth.to_addr", { address: short(f.to || _t("eth.burnt"), 12) })),
      h("td", { class: "num" }, (f.direction === "out" ? "−" : "+") + eth.amount(f.asset, f.amount, 6)))))),
    h("div", { class: "row" },
      h("button", { disabled: offset === 0, onclick: () => flowPage(el, address, Math.max(0, offset - PAGE), ctx) }, _t("pager.previous")),
      h("button", { disabled: page.next_offset === null, onclick: () => flowPage(el, address, page.next_offset, ctx) }, _t("pager.next"))));
  if (old) old.replaceWith(box); else el.append(box);
}

export function showTx(el, t, ctx) {
  el.replaceChildren(...[
    h("h3", {}, _t("tx.title"), " ", h("span", { class: "muted" }, "(Ethereum)")),
    h("div", { class: "mono", "data-testid": "eth-tx" }, t.hash),
    kv([[_t("tx.block"), `${t.block_number} · ${short(t.block_hash, 20)}`], [_t("col.time"), fmtTime(t.timestamp)],
      [_t("eth.from"), t.from], [_t("eth.to"), t.to || _t("eth.contract_creation")], [_t("eth.value"), eth.amount("ETH", t.value)],
      [_t("eth.status"), t.status === 1 ? _t("eth.success") : t.status === 0 ? _t("eth.reverted") : "–"], [_t("eth.selector"), t.selector || "–"],
      [_t("eth.gas"), _t("eth.gas_used", { used: String(t.gas_used ?? "?"), price: String(t.effective_gas_price ?? t.gas_price ?? "?") })]]),
    t.conversions.length ? h("h3", {}, _t("eth.conversions")) : null,
    t.conversions.length ? conversionTable(t.conversions.map((c) => ({ ...c, conversion: c.kind }))) : null,
    h("h3", {}, _t("eth.value_flows")),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("col.kind")), h("th", {}, _t("eth.from")), h("th", {}, _t("eth.to")), h("th", { class: "num" }, _t("col.amount")))),
      h("tbody", {}, t.flows.map((f) => h("tr", { title: eth.exact(f.asset, f.amount) }, h("td", {}, eth.flowKind(f.kind)),
        h("td", { class: "mono clickable", onclick: f.from ? () => ctx.openAccount(f.from) : null }, short(f.from || "–", 14)),
        h("td", { class: "mono clickable", onclick: f.to ? () => ctx.openAccount(f.to) : null }, short(f.to || _t("eth.burnt"), 14)),
        h("td", { class: "num" }, eth.amount(f.asset, f.amount, 6)))))),
  ].filter(Boolean));
}

export function conversionTable(convs) {
  return h("table", { "data-testid": "eth-conversions" },
    h("thead", {}, h("tr", {}, h("th", {}, _t("col.kind")), h("th", { class: "num" }, _t("eth.col.in")), h("th", { class: "num" }, _t("eth.col.out")), h("th", {}, _t("eth.col.rate")), h("th", {}, _t("eth.col.venue")))),
    h("tbody", {}, convs.map((c) => h("tr", { title: c.evidence || "", dataset: { assetIn: c.asset_in, assetOut: c.asset_out } },
      h("td", {}, eth.convName(c.conversion)),
      h("td", { class: "num", title: eth.exact(c.asset_in, c.tainted_in ?? c.amount_in) }, eth.amount(c.asset_in, c.tainted_in ?? c.amount_in, 6)),
      h("td", { class: "num", title: eth.exact(c.asset_out, c.tainted_out ?? c.amount_out) }, eth.amount(c.asset_out, c.tainted_out ?? c.amount_out, 6)),
      h("td", { class: "rate" }, eth.unitRate(c)), h("td", { class: "mono" }, short(c.venue || "", 12))))));
}

export function showConversion(el, d) {
  const c = d.conversion;
  el.replaceChildren(h("h3", {}, d.label), h("div", { class: "mono" }, `tx ${c.tx}`),
    kv([[_t("eth.executed_rate"), d.rate], [_t("eth.rate_base"), c.rate || "–"], [_t("eth.col.venue"), c.venue || "–"], [_t("eth.trader"), c.trader],
      [_t("eth.recipient"), c.recipient || c.trader],
      [_t("eth.swapped"), `${eth.amount(c.asset_in, c.amount_in)} → ${eth.amount(c.asset_out, c.amount_out)}`],
      c.tainted_in !== undefined ? [_t("eth.tainted"), `${eth.amount(c.asset_in, c.tainted_in)} → ${eth.amount(c.asset_out, c.tainted_out)}`] : undefined,
    ].filter(Boolean)),
    h("p", { class: "muted" }, _t("eth.taint_rate")),
    h("div", { class: "note" }, c.evidence || ""));
}

export function showChain(el, d) {
  el.replaceChildren(h("h3", {}, _t("eth.far_chain_title")), h("p", {}, _t("eth.far_chain_text", { bridge: d.bridge })));
}

// An account on the bridge's far chain: what the trace left there (the served store answers for its own chain).
export function showFarAccount(el, d) {
  el.replaceChildren(h("h3", {}, _t("eth.far_account_title", { chain: String(d.chain_id) })),
    h("div", { class: "mono", "data-testid": "eth-far-account" }, d.address),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("col.kind")), h("th", {}, _t("eth.col.asset")), h("th", { class: "num" }, _t("col.amount")))),
      h("tbody", {}, (d.endpoints || []).map((e) => h("tr", { title: eth.exact(e.asset, e.amount) }, h("td", {}, tOr(`endpoint.${e.kind}`, e.kind)),
        h("td", {}, eth.symbolOf(e.asset)), h("td", { class: "num" }, eth.amount(e.asset, e.amount, 6)))))),
    h("p", { class: "muted" }, _t("eth.far_account_text")));
}

export function showEnds(el, d) {
  el.replaceChildren(h("h3", {}, d.label),
    h("p", { class: "muted" }, _t("eth.ends_text")),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("eth.recipient")), h("th", { class: "num" }, _t("col.amount")))),
      h("tbody", {}, d.withdrawals.map((w) => h("tr", { title: eth.exact(d.asset, w.amount) }, h("td", { class: "mono" }, w.recipient),
        h("td", { class: "num" }, eth.amount(d.asset, w.amount, 6)))))));
}

// Tooltip lines for an Ethereum node or edge (exact base units).
export function tooltip(d) {
  if (d.source && d.target) {
    const lines = [h("div", {}, h("b", {}, tOr(`eth.edge.${d.flow}`, d.flow)), " ", eth.amount(d.asset, d.amount)),
      h("div", { class: "mono" }, eth.exact(d.asset, d.amount))];
    if (d.asset !== "ETH") lines.push(h("div", { class: "mono" }, _t("eth.token_addr", { asset: d.asset })));
    if (d.flow === "bridge" && d.nonce !== null && d.nonce !== undefined)
      lines.push(h("div", {}, _t("eth.bridge_tip", { nonce: String(d.nonce), from: String(d.from_chain), to: String(d.to_chain) })));
    if (d.lead) {
      lines.push(h("div", {}, _t("eth.lead_tip", { heuristic: eth.heuristicName(d.lead.heuristic), precision: eth.pct(d.lead.precision),
        chance: eth.pct(d.lead.chance_match_rate), note: d.lead.not_proof || _t("eth.not_proof") })));
    }
    if (d.evidence) lines.push(h("div", {}, d.evidence));
    if (d.txs && d.txs.length) lines.push(h("div", { class: "mono" }, _t("eth.n_txs", { n: d.n_txs, txs: d.txs.map((x) => short(x, 12)).join(", ") })));
    return lines;
  }
  const lines = [h("div", {}, h("b", {}, tOr(`eth.kind.${d.kind}`, d.kind.replace("eth_", ""))), " ", d.label || "")];
  if (d.address) lines.push(h("div", { class: "mono" }, d.address));
  if (d.far) lines.push(h("div", {}, _t("eth.far_tip", { chain: String(d.chain_id) })));
  if (d.kind === "eth_conversion") lines.push(h("div", {}, d.rate), h("div", { class: "mono" }, `tx ${d.tx}`));
  if (d.token) lines.push(h("div", {}, _t("eth.token_decimals", { symbol: d.token.symbol, decimals: String(d.token.decimals) })));
  if (d.deposit_of) lines.push(h("div", {}, _t("eth.deposit_of", { wallet: short(d.deposit_of, 14) })));
  if (d.tags && d.tags.length) lines.push(h("div", {}, _t("tip.tags", { tags: d.tags.join(", ") })));
  for (const e of d.endpoints || []) {
    lines.push(h("div", {}, `${tOr(`endpoint.${e.kind}`, e.kind)}: ${eth.amount(e.asset, e.amount)} (${eth.exact(e.asset, e.amount)})`));
    if (e.fiat) lines.push(fiatLine(e.fiat));
  }
  return lines;
}
