// The Ethereum trace panel: the form (source, asset, model, mixer policy, until exchange), and the result:
// accounting per asset, the records requests per exchange and asset, the swaps crossed, the Tornado leads
// (heuristic, measured precision, chance-match rate: a lead, not proof), bridge hops and every endpoint.

import * as api from "./api.js";
import * as eth from "./eth.js";
import { conversionTable } from "./eth_panels.js";
import { h, short } from "./format.js";

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

const TOTALS = [["traced", "traced"], ["to_endpoints", "to services"], ["fees", "gas"], ["unspent", "unspent"],
  ["below_threshold", "below threshold"], ["stopped", "stopped"], ["converted", "converted"]];

function totalsTable(totals) {
  return h("table", { id: "eth-totals", "data-testid": "eth-totals" },
    h("thead", {}, h("tr", {}, h("th", {}, "asset"), ...TOTALS.map(([, w]) => h("th", { class: "num" }, w)))),
    h("tbody", {}, Object.entries(totals).map(([asset, t]) => h("tr", { dataset: { asset } },
      h("td", {}, eth.symbolOf(asset)),
      ...TOTALS.map(([k]) => h("td", { class: "num", title: eth.exact(asset, t[k]) }, eth.amount(asset, t[k], 4)))))));
}

function requestsTable(requests) {
  if (!requests || !requests.length) return h("p", { class: "muted", "data-testid": "eth-requests" }, "No exchange or service reached.");
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
  return h("div", {}, h("h3", {}, "Records requests (per exchange and asset)"),
    h("table", { id: "eth-requests", "data-testid": "eth-requests" },
      h("thead", {}, h("tr", {}, h("th", {}, "service"), h("th", {}, "asset"), h("th", { class: "num" }, "amount"), h("th", {}, "deposit addresses"))),
      h("tbody", {}, rows)));
}

function leadsTable(demix) {
  if (!demix || !demix.length) return null;
  return h("div", {}, h("h3", {}, "Tornado deposits and their leads"),
    h("div", { class: "warnbox", "data-testid": "eth-leads-note" }, "Each pairing below is a lead, not proof that the withdrawal is the depositor's: "
      + "it carries the heuristic's measured precision and its chance-match rate (how often it also matches random non-linked pairs)."),
    h("table", { id: "eth-leads", "data-testid": "eth-leads" },
      h("thead", {}, h("tr", {}, h("th", {}, "deposit"), h("th", { class: "num" }, "tainted"), h("th", {}, "withdrawal → recipient"), h("th", {}, "heuristic"),
        h("th", { class: "num" }, "precision"), h("th", { class: "num" }, "chance-match rate"), h("th", { class: "num" }, "true-flow estimate"))),
      h("tbody", {}, demix.map((d) => h("tr", { title: d.lead ? d.lead.evidence : "no lead pairs this deposit with a withdrawal",
        dataset: { deposit: d.deposit_tx, heuristic: d.lead ? d.lead.heuristic : "", precision: d.lead ? String(d.lead.precision) : "",
                   chance: d.lead ? String(d.lead.chance_match_rate) : "" } },
        h("td", { class: "mono" }, short(d.deposit_tx, 12), h("div", { class: "muted" }, `by ${short(d.depositor, 12)} into ${short(d.pool, 12)}`)),
        h("td", { class: "num" }, eth.amount(d.asset, d.tainted_in, 4)),
        h("td", { class: "mono" }, d.withdrawal_tx ? `${short(d.withdrawal_tx, 12)} → ${short(d.recipient, 12)}` : "none paired"),
        h("td", {}, d.lead ? d.lead.heuristic.replace(/_/g, " ") : "–"),
        h("td", { class: "num precision" }, d.lead ? eth.pct(d.lead.precision) : "–"),
        h("td", { class: "num chance" }, d.lead ? eth.pct(d.lead.chance_match_rate) : "–"),
        h("td", { class: "num" }, eth.amount(d.asset, d.true_flow_estimate, 4)))))));
}

function bridges(endpoints) {
  const b = endpoints.filter((e) => e.kind === "bridged");
  if (!b.length) return null;
  return h("div", { "data-testid": "eth-bridges" }, h("h3", {}, "Bridge hops (to the far chain)"),
    h("ul", {}, b.map((e) => h("li", {}, `${eth.amount(e.asset, e.amount)} into ${e.address} `, h("span", { class: "muted" }, e.evidence || "")))));
}

function endpointTable(r, ctx) {
  return h("table", { id: "eth-endpoints", "data-testid": "eth-endpoints" },
    h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", {}, "address"), h("th", {}, "service / tags"), h("th", { class: "num" }, "amount"), h("th", { class: "num" }, "hops"))),
    h("tbody", {}, r.endpoints.map((e) => h("tr", {
      class: (["tagged", "deposit_address"].includes(e.kind) ? "tagged " : "") + (e.address ? "clickable" : ""),
      onclick: e.address ? () => ctx.focus(e.address) : null, title: e.evidence || "",
      dataset: { kind: e.kind, address: e.address || "", asset: e.asset, amount: e.amount } },
      h("td", {}, e.kind.replace(/_/g, " ")), h("td", { class: "mono" }, e.address || "–"),
      h("td", {}, e.service ? h("b", {}, e.service) : "", " ", (e.tags || []).join(", ")),
      h("td", { class: "num amount", title: eth.exact(e.asset, e.amount) }, eth.amount(e.asset, e.amount, 6)),
      h("td", { class: "num" }, e.hops === null ? "–" : String(e.hops))))));
}

export function renderResult(el, r, ctx) {
  const convs = r.graph ? r.graph.nodes.filter((n) => n.kind === "conversion") : [];
  const src = r.source.tx_hash || r.source.address || (r.source.cluster !== undefined ? `entity ${r.source.cluster}` : r.source.kind);
  el.replaceChildren(...[
    h("h3", { id: "eth-trace-title" }, `${r.model} trace from ${short(src, 24)}`, r.params.mixer_policy ? ` · Tornado: ${r.params.mixer_policy}` : ""),
    h("div", { class: "muted" }, `${r.endpoints_total} endpoints · ${r.steps_total} txs carried taint · trace hash `, h("code", {}, short(r.trace_hash, 16))),
    totalsTable(r.totals),
    requestsTable(r.requests),
    convs.length ? h("h3", {}, "Swaps and wraps crossed (conversions at the executed rate)") : null,
    convs.length ? conversionTable(convs) : null,
    leadsTable(r.demix),
    bridges(r.endpoints),
    (r.notes || []).length ? h("div", { class: "muted" }, r.notes.join("; ")) : null,
    r.graph && r.graph.truncated ? h("div", { class: "warnbox" }, `The canvas shows ${r.graph.edges.length} of ${r.graph.edges_total} edges (the earliest hops).`) : null,
    h("h3", {}, "Endpoints"), endpointTable(r, ctx),
    r.next_offset !== null ? h("p", { class: "muted" }, `First ${r.endpoints.length} of ${r.endpoints_total} endpoints shown.`) : null,
  ].filter(Boolean));
}
