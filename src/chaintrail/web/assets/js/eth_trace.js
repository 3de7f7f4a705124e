// The Ethereum trace panel: the form (source, asset, model, mixer policy, until exchange), and the result:
// accounting per asset, the records requests per exchange and asset, the swaps crossed, the Tornado leads
// (heuristic, measured precision, chance-match rate: a lead, not proof), bridge hops and every endpoint.

import * as api from "./api.js";
import * as eth from "./eth.js";
import { conversionTable } from "./eth_panels.js";
import { fiatText } from "./fiat_marks.js";
import { download, h, short } from "./format.js";
import { t as _t, tOr } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export function formParams() {
  const stop = $("eth-stop").value.split(",").map((s) => s.trim()).filter(Boolean);
  return {
    source: $("eth-source").value.trim(), asset: $("eth-asset").value.trim() || "all", model: $("eth-model").value,
    mixer_policy: $("eth-mixer").value, max_hops: $("eth-hops").value || 10, min_amount: $("eth-min").value || 0,
    stop: stop.length ? stop : ["exchange"], until_exchange: $("eth-until").checked,
  };
}

export function setSource(source) {
  $("eth-source").value = source;
}

export async function runTrace(params) {
  return api.get("/eth/trace", { ...params, limit: 500, graph: true });
}

// Every endpoint with its fiat columns as the server's CSV (fetched with the token, so no plain link), saved as a file.
export async function exportCsv(params, traceHash) {
  const blob = await api.getBlob("/eth/trace", { ...params, format: "csv" }, "text/csv");
  download(`eth-trace-${traceHash.slice(0, 12)}.csv`, blob);
}

const TOTALS = ["traced", "to_endpoints", "fees", "unspent", "below_threshold", "stopped", "converted"];

function totalsTable(totals) {
  return h("table", { id: "eth-totals", "data-testid": "eth-totals" },
    h("thead", {}, h("tr", {}, h("th", {}, _t("eth.col.asset")), ...TOTALS.map((k) => h("th", { class: "num" }, _t(`eth.total.${k}`))))),
    h("tbody", {}, Object.entries(totals).map(([asset, t]) => h("tr", { dataset: { asset } },
      h("td", {}, eth.symbolOf(asset)),
      ...TOTALS.map((k) => h("td", { class: "num", title: eth.exact(asset, t[k]) }, eth.amount(asset, t[k], 4)))))));
}

function requestsTable(requests) {
  if (!requests || !requests.length) return h("p", { class: "muted", "data-testid": "eth-requests" }, _t("eth.no_service"));
  const rows = [];
  for (const r of requests) {
    for (const [asset, amt] of Object.entries(r.assets)) {
      const deps = r.deposits.filter((d) => d.asset === asset).map((d) => d.address);
      rows.push(h("tr", { class: "tagged", dataset: { service: r.service, asset, amount: amt } },
        h("td", {}, h("b", {}, r.service)), h("td", {}, eth.symbolOf(asset), asset !== "ETH" ? h("div", { class: "mono muted" }, asset) : null),
        h("td", { class: "num amount", title: eth.exact(asset, amt) }, eth.amount(asset, amt)),
        h("td", { class: "mono" }, deps.map((a) => h("div", {}, a)))));
    }
  }
  return h("div", {}, h("h3", {}, _t("eth.requests_title")),
    h("table", { id: "eth-requests", "data-testid": "eth-requests" },
      h("thead", {}, h("tr", {}, h("th", {}, _t("eth.col.service")), h("th", {}, _t("eth.col.asset")), h("th", { class: "num" }, _t("col.amount")), h("th", {}, _t("eth.col.deposits")))),
      h("tbody", {}, rows)));
}

function leadsTable(demix) {
  if (!demix || !demix.length) return null;
  return h("div", {}, h("h3", {}, _t("eth.leads_title")),
    h("div", { class: "warnbox", "data-testid": "eth-leads-note" }, _t("eth.leads_note")),
    h("table", { id: "eth-leads", "data-testid": "eth-leads" },
      h("thead", {}, h("tr", {}, h("th", {}, _t("eth.col.deposit")), h("th", { class: "num" }, _t("eth.tainted")), h("th", {}, _t("eth.col.withdrawal")), h("th", {}, _t("eth.col.heuristic")),
        h("th", { class: "num" }, _t("eth.col.precision")), h("th", { class: "num" }, _t("eth.col.chance")), h("th", { class: "num" }, _t("eth.col.true_flow")))),
      h("tbody", {}, demix.map((d) => h("tr", { title: d.lead ? d.lead.evidence : _t("eth.no_lead"),
        dataset: { deposit: d.deposit_tx, heuristic: d.lead ? d.lead.heuristic : "", precision: d.lead ? String(d.lead.precision) : "",
                   chance: d.lead ? String(d.lead.chance_match_rate) : "" } },
        h("td", { class: "mono" }, short(d.deposit_tx, 12), h("div", { class: "muted" }, _t("eth.by_into", { depositor: short(d.depositor, 12), pool: short(d.pool, 12) }))),
        h("td", { class: "num" }, eth.amount(d.asset, d.tainted_in, 4)),
        h("td", { class: "mono" }, d.withdrawal_tx ? `${short(d.withdrawal_tx, 12)} → ${short(d.recipient, 12)}` : _t("eth.none_paired")),
        h("td", {}, d.lead ? eth.heuristicName(d.lead.heuristic) : "–"),
        h("td", { class: "num precision" }, d.lead ? eth.pct(d.lead.precision) : "–"),
        h("td", { class: "num chance" }, d.lead ? eth.pct(d.lead.chance_match_rate) : "–"),
        h("td", { class: "num" }, eth.amount(d.asset, d.true_flow_estimate, 4)))))));
}

function bridges(r) {
  const b = r.endpoints.filter((e) => e.kind === "bridged");
  if (!b.length) return null;
  const followed = (r.bridges || []).filter((s) => s.followed);
  return h("div", { "data-testid": "eth-bridges" }, h("h3", {}, _t("eth.bridges_title")),
    h("ul", {}, b.map((e) => h("li", {}, _t("eth.into", { amount: eth.amount(e.asset, e.amount), address: e.address }), " ", h("span", { class: "muted" }, e.evidence || "")))),
    followed.length ? h("table", { id: "eth-crossings", "data-testid": "eth-crossings" },
      h("thead", {}, h("tr", {}, h("th", { class: "num" }, _t("eth.crossings.nonce")), h("th", {}, _t("eth.crossings.sent")),
        h("th", {}, _t("eth.crossings.received")), h("th", { class: "num" }, _t("eth.crossings.traced")))),
      h("tbody", {}, followed.map((s) => h("tr", { dataset: { nonce: String(s.nonce), tx: s.tx_hash, toTx: s.to.tx_hash, tainted: s.tainted } },
        h("td", { class: "num" }, String(s.nonce)),
        h("td", { class: "mono", title: `block ${s.block_number} ${s.block_hash}, log ${s.log_index}` }, `${s.event} · ${s.chain_id} · ${short(s.tx_hash, 14)}`),
        h("td", { class: "mono", title: `block ${s.to.block_number} ${s.to.block_hash}, log ${s.to.log_index}` }, `${s.to.event} · ${s.to.chain_id} · ${short(s.to.tx_hash, 14)}`),
        h("td", { class: "num", title: eth.exact(s.asset, s.tainted) }, eth.amount(s.asset, s.tainted, 6)))))) : null);
}

// A far-chain token is named CHAIN_ID:0xTOKEN on the canvas (a contract address names a token on its own chain only).
function farAsset(chain, asset) {
  return asset === "ETH" ? asset : `${chain}:${asset}`;
}

function endpointTable(r, ctx) {
  const here = r.chain_id ?? null;
  const far = r.other_chain || null;
  const rows = r.endpoints.map((e) => ({ ...e, chain: here, key: e.asset }))
    .concat(far ? far.endpoints.map((e) => ({ ...e, chain: far.chain_id, key: farAsset(far.chain_id, e.asset), far: true })) : []);
  return h("table", { id: "eth-endpoints", "data-testid": "eth-endpoints" },
    h("thead", {}, h("tr", {}, h("th", {}, _t("col.kind")), h("th", {}, _t("eth.col.chain")), h("th", {}, _t("col.address")), h("th", {}, _t("eth.col.service_tags")), h("th", { class: "num" }, _t("col.amount")), h("th", { class: "num" }, _t("col.hops")), h("th", { class: "num" }, _t("eth.col.value_day")))),
    h("tbody", {}, rows.map((e) => h("tr", {
      class: (["tagged", "deposit_address"].includes(e.kind) ? "tagged " : "") + (e.address ? "clickable" : ""),
      onclick: e.address ? () => ctx.focus(e.far ? `${e.chain}:${e.address}` : e.address) : null, title: e.evidence || "",
      dataset: { kind: e.kind, address: e.address || "", asset: e.asset, amount: e.amount, chain: e.chain === null ? "" : String(e.chain) } },
      h("td", {}, tOr(`endpoint.${e.kind}`, e.kind)), h("td", { class: "chain" }, e.chain === null ? "–" : String(e.chain)), h("td", { class: "mono" }, e.address || "–"),
      h("td", {}, e.service ? h("b", {}, e.service) : "", " ", (e.tags || []).join(", ")),
      h("td", { class: "num amount", title: eth.exact(e.key, e.amount) }, eth.amount(e.key, e.amount, 6)),
      h("td", { class: "num" }, e.hops === null ? "–" : String(e.hops)),
      h("td", { class: "num fiat", "data-testid": "eth-endpoint-fiat", title: e.fiat && e.fiat.series ? `${e.fiat.series}/USD ${e.fiat.price_usd ?? ""}` : "" },
        e.fiat ? fiatText(e.fiat) : "–")))));
}

export function renderResult(el, r, ctx) {
  const convs = r.graph ? r.graph.nodes.filter((n) => n.kind === "conversion") : [];
  const src = r.source.tx_hash || r.source.address || (r.source.cluster !== undefined ? _t("node.entity", { id: String(r.source.cluster) }) : r.source.kind);
  el.replaceChildren(...[
    h("h3", { id: "eth-trace-title" }, _t("eth.trace_title", { model: r.model, source: short(src, 24) }),
      r.params.mixer_policy ? ` · Tornado: ${r.params.mixer_policy}` : ""),
    h("div", { class: "muted" }, _t("eth.trace_counts", { n: r.endpoints_total, steps: r.steps_total }), " ", h("code", {}, short(r.trace_hash, 16))),
    r.other_chain ? h("div", { class: "muted", "data-testid": "eth-far-chain" }, _t("eth.far_followed", { chain: String(r.other_chain.chain_id),
      n: String(r.other_chain.endpoints.length), steps: String(r.other_chain.steps_total) })) : null,
    totalsTable(r.totals),
    requestsTable(r.requests),
    convs.length ? h("h3", {}, _t("eth.convs_title")) : null,
    convs.length ? conversionTable(convs) : null,
    leadsTable(r.demix),
    bridges(r),
    (r.notes || []).length ? h("div", { class: "muted" }, r.notes.join("; ")) : null,
    r.graph && r.graph.truncated ? h("div", { class: "warnbox" }, _t("eth.truncated", { shown: r.graph.edges.length, total: r.graph.edges_total })) : null,
    h("div", { class: "row" }, h("h3", {}, _t("eth.endpoints")),
      ctx.params ? h("button", { id: "eth-trace-csv", title: _t("eth.export_csv_title"), onclick: () => exportCsv(ctx.params, r.trace_hash) }, _t("trace.export_csv")) : null),
    endpointTable(r, ctx),
    r.next_offset !== null ? h("p", { class: "muted" }, _t("eth.first_shown", { shown: r.endpoints.length, total: r.endpoints_total })) : null,
  ].filter(Boolean));
}
