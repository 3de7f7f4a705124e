// Ethereum in the details panel and the tooltips: an account (balances per asset, contract, token, deposit
// pattern, tags, its flows a page at a time, screening with the issuer-freeze note), a transaction, a swap.

import * as api from "./api.js";
import * as eth from "./eth.js";
import { chip, fmtTime, h, kv, short } from "./format.js";

const PAGE = 50;
const LEVEL_COLORS = { low: "#2a9d8f", medium: "#d4a106", high: "#e85d04", severe: "#c1121f" };

function tagRows(tags) {
  if (!tags || !tags.length) return h("p", { class: "muted" }, "No tags.");
  return h("table", { class: "tags" },
    h("thead", {}, h("tr", {}, h("th", {}, "label"), h("th", {}, "category"), h("th", {}, "source / provenance"))),
    h("tbody", {}, tags.map((t) => h("tr", {}, h("td", {}, t.label || "?"), h("td", {}, t.category || t.kind || ""),
      h("td", { class: "mono" }, [t.source, t.provenance].filter(Boolean).join(" · "))))));
}

export async function showAccount(el, address, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, "loading…"));
  const a = await eth.account(address);
  const c = a.contract, t = a.token, d = a.deposit_address;
  el.replaceChildren(...[
    h("h3", {}, t ? `${t.symbol || "?"} token contract` : a.is_contract ? "Contract" : "Account", " ",
      h("span", { class: "muted" }, "(Ethereum)")),
    h("div", { class: "mono", "data-testid": "eth-account" }, a.address),
    ctx.noteFor(`x:${a.address}`) ? h("div", { class: "note" }, ctx.noteFor(`x:${a.address}`)) : null,
    kv([
      ["entity", `entity ${a.cluster} · ${a.cluster_size.toLocaleString()} account${a.cluster_size === 1 ? "" : "s"}`],
      ["first block", a.first_block === null ? "–" : String(a.first_block)],
      ["value flows", a.n_flows.toLocaleString()],
      c ? ["contract", `created in block ${c.block_number ?? "?"} by ${c.creator || "?"}${c.proxy_implementation ? ` · proxy to ${c.proxy_implementation}` : ""}`] : undefined,
      t ? ["token", `${t.name || "?"} (${t.symbol || "?"}), ${t.decimals ?? "?"} decimals`] : undefined,
      d ? ["deposit address", `of hot wallet ${d.hot_wallet} (${d.kind}; ${d.evidence || ""})`] : undefined,
    ].filter(Boolean)),
    h("h3", {}, "Balances (net over the store's blocks)"),
    h("table", { "data-testid": "eth-balances" }, h("thead", {}, h("tr", {}, h("th", {}, "asset"), h("th", { class: "num" }, "net change"), h("th", { class: "num" }, "flows"))),
      h("tbody", {}, a.balances.map((b) => h("tr", { title: eth.exact(b.asset, b.net_change) },
        h("td", {}, b.symbol || short(b.asset, 12), b.asset !== "ETH" ? h("div", { class: "mono muted" }, b.asset) : null),
        h("td", { class: "num" }, eth.amount(b.asset, b.net_change)), h("td", { class: "num" }, String(b.flows)))))),
    h("h3", {}, "Tags"), tagRows(a.tags),
    h("div", { class: "row" },
      h("button", { id: "btn-eth-screen", onclick: () => screen(el, a.address) }, "Screen exposure"),
      h("button", { onclick: () => ctx.traceFrom(a.address) }, "Trace from here"),
      h("span", { class: "muted" }, "exposure per asset, sanctions list and date, issuer freezes")),
    h("div", { class: "screen-result" }),
  ].filter(Boolean));
  await flowPage(el, a.address, 0, ctx);
}

async function screen(el, subject) {
  const box = el.querySelector(".screen-result");
  box.replaceChildren(h("p", { class: "muted" }, "screening…"));
  try {
    const r = await api.get("/eth/screen", { subject, hops: 3 });
    box.replaceChildren(...[
      h("h3", { "data-testid": "eth-risk-level" }, "Risk ", chip(r.risk.level.toUpperCase(), LEVEL_COLORS[r.risk.level] || "#6b7480")),
      h("ul", {}, r.risk.reasons.map((x) => h("li", {}, h("b", {}, x.level), " ", x.text))),
      r.freeze.length ? h("div", { class: "warnbox", "data-testid": "eth-freeze" }, r.freeze.map((f) => h("div", {},
        f.action || `${f.symbol || f.asset} held at ${subject} can be frozen by its issuer; request a freeze`))) : null,
      r.exposures.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "direction"), h("th", {}, "category"),
        h("th", { class: "num" }, "amount"), h("th", { class: "num" }, "share"), h("th", { class: "num" }, "hops"))),
        h("tbody", {}, r.exposures.map((e) => h("tr", { title: eth.exact(e.asset, String(e.amount)) }, h("td", {}, e.direction),
          h("td", {}, e.category), h("td", { class: "num" }, eth.amount(e.asset, String(e.amount), 6)),
          h("td", { class: "num" }, `${(e.share * 100).toFixed(2)}%`), h("td", { class: "num" }, `${e.min_hops}–${e.max_hops}`))))) : null,
      h("p", { class: "muted" }, "Sanctions: ", r.sanction_lists.map((l) => `${l.list || l.file} (${l.date || "undated"})`).join("; ") || "none loaded",
        ` · judged as of ${r.as_of}`),
    ].filter(Boolean));
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, err.message));
  }
}

async function flowPage(el, address, offset, ctx) {
  const page = await api.get(`/eth/addresses/${address}/flows`, { offset, limit: PAGE });
  const old = el.querySelector(".eth-flows");
  const box = h("div", { class: "eth-flows" },
    h("h3", {}, `Value flows ${page.total ? offset + 1 : 0}–${offset + page.items.length} of ${page.total.toLocaleString()}`),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "block"), h("th", {}, "tx"), h("th", {}, "kind"), h("th", {}, "counterparty"),
      h("th", { class: "num" }, "amount"))),
    h("tbody", {}, page.items.map((f) => h("tr", { class: f.tx_hash ? "clickable" : "", title: eth.exact(f.asset, f.amount),
      onclick: f.tx_hash ? () => ctx.openTx(f.tx_hash) : null },
      h("td", {}, String(f.block_number)), h("td", { class: "mono" }, short(f.tx_hash || "", 12)), h("td", {}, f.kind),
      h("td", { class: "mono" }, f.direction === "in" ? `from ${short(f.from, 12)}` : `to ${short(f.to || "(burnt)", 12)}`),
      h("td", { class: "num" }, (f.direction === "out" ? "−" : "+") + eth.amount(f.asset, f.amount, 6)))))),
    h("div", { class: "row" },
      h("button", { disabled: offset === 0, onclick: () => flowPage(el, address, Math.max(0, offset - PAGE), ctx) }, "◂ previous"),
      h("button", { disabled: page.next_offset === null, onclick: () => flowPage(el, address, page.next_offset, ctx) }, "next ▸")));
  if (old) old.replaceWith(box); else el.append(box);
}

export function showTx(el, t, ctx) {
  el.replaceChildren(...[
    h("h3", {}, "Transaction ", h("span", { class: "muted" }, "(Ethereum)")),
    h("div", { class: "mono", "data-testid": "eth-tx" }, t.hash),
    kv([["block", `${t.block_number} · ${short(t.block_hash, 20)}`], ["time", fmtTime(t.timestamp)],
      ["from", t.from], ["to", t.to || "(contract creation)"], ["value", eth.amount("ETH", t.value)],
      ["status", t.status === 1 ? "success" : t.status === 0 ? "reverted" : "–"], ["selector", t.selector || "–"],
      ["gas", `${t.gas_used ?? "?"} used at ${t.effective_gas_price ?? t.gas_price ?? "?"} wei`]]),
    t.conversions.length ? h("h3", {}, "Conversions (swaps, wraps)") : null,
    t.conversions.length ? conversionTable(t.conversions.map((c) => ({ ...c, conversion: c.kind }))) : null,
    h("h3", {}, "Value flows"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", {}, "from"), h("th", {}, "to"), h("th", { class: "num" }, "amount"))),
      h("tbody", {}, t.flows.map((f) => h("tr", { title: eth.exact(f.asset, f.amount) }, h("td", {}, f.kind),
        h("td", { class: "mono clickable", onclick: f.from ? () => ctx.openAccount(f.from) : null }, short(f.from || "–", 14)),
        h("td", { class: "mono clickable", onclick: f.to ? () => ctx.openAccount(f.to) : null }, short(f.to || "(burnt)", 14)),
        h("td", { class: "num" }, eth.amount(f.asset, f.amount, 6)))))),
  ].filter(Boolean));
}

export function conversionTable(convs) {
  return h("table", { "data-testid": "eth-conversions" },
    h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", { class: "num" }, "in"), h("th", { class: "num" }, "out"), h("th", {}, "rate"), h("th", {}, "venue"))),
    h("tbody", {}, convs.map((c) => h("tr", { title: c.evidence || "", dataset: { assetIn: c.asset_in, assetOut: c.asset_out } },
      h("td", {}, c.conversion || "swap"),
      h("td", { class: "num", title: eth.exact(c.asset_in, c.tainted_in ?? c.amount_in) }, eth.amount(c.asset_in, c.tainted_in ?? c.amount_in, 6)),
      h("td", { class: "num", title: eth.exact(c.asset_out, c.tainted_out ?? c.amount_out) }, eth.amount(c.asset_out, c.tainted_out ?? c.amount_out, 6)),
      h("td", { class: "rate" }, eth.unitRate(c)), h("td", { class: "mono" }, short(c.venue || "", 12))))));
}

export function showConversion(el, d) {
  const c = d.conversion;
  el.replaceChildren(h("h3", {}, d.label), h("div", { class: "mono" }, `tx ${c.tx}`),
    kv([["executed rate", d.rate], ["rate (base units)", c.rate || "–"], ["venue", c.venue || "–"], ["trader", c.trader],
      ["recipient", c.recipient || c.trader],
      ["swapped", `${eth.amount(c.asset_in, c.amount_in)} → ${eth.amount(c.asset_out, c.amount_out)}`],
      c.tainted_in !== undefined ? ["tainted", `${eth.amount(c.asset_in, c.tainted_in)} → ${eth.amount(c.asset_out, c.tainted_out)}`] : undefined,
    ].filter(Boolean)),
    h("p", { class: "muted" }, "Taint crosses assets at the executed rate: floor(amount_out × tainted_in / amount_in)."),
    h("div", { class: "note" }, c.evidence || ""));
}

export function showChain(el, d) {
  el.replaceChildren(h("h3", {}, "The bridge's far chain"),
    h("p", {}, `Funds locked in bridge ${d.bridge} are released on the other chain. The trace stops here (not followed `
      + "across): continue on the far chain's store, matching the bridge legs by message id or nonce."));
}

export function showEnds(el, d) {
  el.replaceChildren(h("h3", {}, d.label),
    h("p", { class: "muted" }, "Withdrawals from this pool carrying its tainted share, which no lead pairs with a tainted "
      + "deposit: under the leads policy the trail ends at each recipient."),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "recipient"), h("th", { class: "num" }, "amount"))),
      h("tbody", {}, d.withdrawals.map((w) => h("tr", { title: eth.exact(d.asset, w.amount) }, h("td", { class: "mono" }, w.recipient),
        h("td", { class: "num" }, eth.amount(d.asset, w.amount, 6)))))));
}

// Tooltip lines for an Ethereum node or edge (exact base units).
export function tooltip(d) {
  if (d.source && d.target) {
    const lines = [h("div", {}, h("b", {}, d.flow.replace(/_/g, " ")), " ", eth.amount(d.asset, d.amount)),
      h("div", { class: "mono" }, eth.exact(d.asset, d.amount))];
    if (d.asset !== "ETH") lines.push(h("div", { class: "mono" }, `token ${d.asset}`));
    if (d.lead) lines.push(h("div", {}, `lead ${d.lead.heuristic}: precision ${eth.pct(d.lead.precision)}, chance-match rate ${eth.pct(d.lead.chance_match_rate)} — ${d.lead.not_proof || "a lead, not proof"}`));
    if (d.evidence) lines.push(h("div", {}, d.evidence));
    if (d.txs && d.txs.length) lines.push(h("div", { class: "mono" }, `${d.n_txs} tx: ${d.txs.map((t) => short(t, 12)).join(", ")}`));
    return lines;
  }
  const lines = [h("div", {}, h("b", {}, d.kind.replace("eth_", "")), " ", d.label || "")];
  if (d.address) lines.push(h("div", { class: "mono" }, d.address));
  if (d.kind === "eth_conversion") lines.push(h("div", {}, d.rate), h("div", { class: "mono" }, `tx ${d.tx}`));
  if (d.token) lines.push(h("div", {}, `token ${d.token.symbol} (${d.token.decimals} decimals)`));
  if (d.deposit_of) lines.push(h("div", {}, `exchange deposit address of hot wallet ${short(d.deposit_of, 14)}`));
  if (d.tags && d.tags.length) lines.push(h("div", {}, `tags: ${d.tags.join(", ")}`));
  for (const e of d.endpoints || []) lines.push(h("div", {}, `${e.kind.replace(/_/g, " ")}: ${eth.amount(e.asset, e.amount)} (${eth.exact(e.asset, e.amount)})`));
  return lines;
}
