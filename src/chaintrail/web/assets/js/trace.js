// Tracing from the canvas: the form, the accounting line, the endpoint table and its CSV export.

import * as api from "./api.js";
import { csvCell, download, fmtBTC, h, riskChips, short } from "./format.js";
import { t as _t } from "./i18n.js";

let last = null;   // { params, result }

export function formParams() {
  const stop = document.getElementById("trace-stop").value.split(",").map((s) => s.trim()).filter(Boolean);
  return {
    source: document.getElementById("trace-source").value.trim(),
    direction: document.getElementById("trace-direction").value,
    model: document.getElementById("trace-model").value,
    max_hops: document.getElementById("trace-hops").value || 20,
    min_amount_sat: document.getElementById("trace-min").value || 0,
    stop: stop.length ? stop : ["exchange"],
    mixer_policy: document.getElementById("trace-mixer").value,
  };
}

export function setSource(source, direction) {
  document.getElementById("trace-source").value = source;
  if (direction) document.getElementById("trace-direction").value = direction;
  syncMixer();
}

// The Mixers default is the CLI's and the API's (analysis.tracing.default_mixer_policy): demix forward, haircut
// backward. A policy the investigator picked is kept when the direction changes, unless it cannot apply there
// (demix follows funds forward only).
export function defaultMixerPolicy(direction) {
  return direction === "forward" ? "demix" : "haircut";
}

function syncMixer() {
  const mixer = document.getElementById("trace-mixer");
  const direction = document.getElementById("trace-direction").value;
  if (!mixer.dataset.picked || (mixer.value === "demix" && direction !== "forward")) {
    mixer.value = defaultMixerPolicy(direction);
  }
}

export function bindMixerDefault() {
  const mixer = document.getElementById("trace-mixer");
  mixer.addEventListener("change", () => { mixer.dataset.picked = "1"; });
  document.getElementById("trace-direction").addEventListener("change", syncMixer);
  syncMixer();
}

export async function runTrace(params) {
  const result = await api.get("/trace", { ...params, limit: 1000, graph: true });
  last = { params, result };
  return result;
}

function sourceText(s) {
  if (s.kind === "entity") return _t("node.entity", { id: String(s.cluster) }) + (s.label ? ` (${s.label})` : "");
  if (s.kind === "address") return short(s.address, 24);
  if (s.kind === "output") return _t("trace.output", { ref: `${short(s.txid, 16)}:${s.vout}` });
  return s.txid ? short(s.txid, 24) : _t("trace.outputs");
}

function totalsLine(t) {
  const parts = [[_t("totals.to_endpoints"), t.to_endpoints_sat], [_t("totals.unspent"), t.unspent_sat], [_t("totals.fees"), t.fees_sat],
    [_t("totals.below"), t.below_threshold_sat], [_t("totals.stopped"), t.stopped_sat]];
  if (t.coinbase_sat) parts.push([_t("totals.coinbase"), t.coinbase_sat]);
  if (t.unknown_source_sat) parts.push([_t("totals.unknown_source"), t.unknown_source_sat]);
  return h("div", { id: "trace-totals", "data-testid": "trace-totals" },
    h("b", {}, _t("totals.traced", { amount: fmtBTC(t.traced_sat) })), " = ",
    parts.map(([k, v], i) => [i ? " + " : "", `${k} ${fmtBTC(v)}`]),
    t.absorbed_sat ? " " + _t("totals.absorbed", { amount: fmtBTC(t.absorbed_sat) }) : "",
    h("div", { class: "muted" }, _t("totals.read", { txs: t.txs_touched, edges: t.edges_touched }) + (t.mixer_txs ? _t("totals.mixing", { n: t.mixer_txs }) : "")));
}

function rulesLine(rules) {
  // How the taint was split at each tx: the model, and where not the trace's own, what it rested on.
  const entries = Object.entries(rules || {});
  if (!entries.length) return null;
  const passed = entries.filter(([k]) => k.includes("mixer-pass-through")).reduce((a, [, n]) => a + n, 0);
  return h("div", { id: "trace-rules", "data-testid": "trace-rules", class: "muted" },
    _t("trace.split_by"), " ", entries.map(([k, n], i) => [i ? " · " : "", `${k} × ${n}`]),
    passed ? h("div", { class: "warnbox", "data-testid": "pass-through-warning" }, _t("trace.pass_through", { n: passed })) : null);
}

// An endpoint's kind in the reader's language (tagged, unspent, fee, ...; unknown kinds as they came).
export function endpointKind(k) {
  const v = _t(`endpoint.${k}`);
  return v === `endpoint.${k}` ? k.replace(/_/g, " ") : v;
}

export function renderResult(el, r, ctx) {
  const rows = r.endpoints;
  const tagged = rows.filter((e) => e.kind === "tagged");
  const services = {};
  for (const e of tagged) {
    const name = e.label || (e.tags[0] || _t("node.entity", { id: String(e.cluster) }));
    services[name] = (services[name] || 0) + e.amount_sat;
  }
  el.replaceChildren(...[
    h("h3", { id: "trace-title" }, _t("trace.title", { direction: _t(`direction.${r.params.direction}`), model: r.model, source: sourceText(r.source) })),
    totalsLine(r.totals),
    rulesLine(r.step_rules),
    Object.keys(services).length ? h("div", { "data-testid": "services" },
      h("b", {}, _t("trace.reached"), " "),
      Object.entries(services).sort((a, b) => b[1] - a[1]).map(([k, v], i) => [i ? " · " : "", h("span", { class: "service" }, `${k}: ${fmtBTC(v)}`)])) : null,
    h("div", { class: "row" },
      h("span", { class: "muted" }, _t("trace.endpoints_n", { n: r.endpoints_total }) + (r.next_offset !== null ? " " + _t("trace.first_shown", { n: rows.length }) : "") + " · " + _t("trace.hash") + " ",
        h("code", {}, short(r.trace_hash, 16))),
      h("button", { id: "trace-csv", onclick: () => exportCsv() }, _t("trace.export_csv")),
      h("button", { id: "trace-png", onclick: () => endpointsPng(r) }, _t("trace.export_png"))),
    h("table", { id: "endpoint-table", "data-testid": "endpoint-table" },
      h("thead", {}, h("tr", {}, h("th", {}, _t("col.kind")), h("th", {}, _t("col.address")), h("th", {}, _t("col.entity_tags")),
        h("th", { class: "num" }, _t("col.amount")), h("th", { class: "num" }, _t("fiat.usd_on_the_day")), h("th", { class: "num" }, _t("col.hops")))),
      h("tbody", {}, rows.map((e) => h("tr", {
        class: (e.kind === "tagged" ? "tagged " : "") + (e.address ? "clickable" : ""),
        onclick: e.address ? () => ctx.focusAddress(e.address) : null,
        dataset: { kind: e.kind, address: e.address || "", amount: String(e.amount_sat) } },
        h("td", {}, endpointKind(e.kind)),
        h("td", { class: "mono" }, e.address || (e.outputs[0] || "")),
        h("td", {}, e.label ? h("b", {}, e.label) : "", e.label ? " " : "", e.cluster !== null ? h("span", { class: "muted" }, _t("node.entity", { id: String(e.cluster) }) + " ") : "",
          ...riskChips(e.risk)),
        h("td", { class: "num amount" }, fmtBTC(e.amount_sat)),
        fiatCell(e.fiat),
        h("td", { class: "num" }, String(e.hops))))))
  ].filter(Boolean));
}

// The endpoint's USD value on the UTC day its outputs were paid (store prices), the day and close in the tooltip.
function fiatCell(f) {
  if (!f) return h("td", { class: "num fiat muted" }, "");
  const tip = f.missing ? f.missing : `UTC close of ${f.days.join(", ")}: ${f.prices_usd.map((p) => p.toLocaleString("en-US", { maximumFractionDigits: 2 })).join(", ")} USD/BTC`;
  const text = f.usd === null || f.usd === undefined ? "no price" : f.usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " USD";
  return h("td", { class: "num fiat", title: tip, "data-testid": "fiat" }, text);
}

export async function exportCsv() {
  if (!last) return;
  const blob = await api.getBlob("/trace", { ...last.params, format: "csv" }, "text/csv");
  download(`trace-${last.result.trace_hash.slice(0, 12)}.csv`, blob);
}

// The endpoint table drawn as an image (for a report or a message), rows as on the page.
export function endpointsPng(r) {
  const rows = r.endpoints.slice(0, 200);
  const lineH = 18, W = 1100, top = 70;
  const c = document.createElement("canvas");
  const dpr = 2;
  c.width = W * dpr;
  c.height = (top + (rows.length + 2) * lineH) * dpr;
  const g = c.getContext("2d");
  g.scale(dpr, dpr);
  g.fillStyle = "#fff";
  g.fillRect(0, 0, W, c.height);
  g.fillStyle = "#1d232b";
  g.font = "bold 14px 'DejaVu Sans', sans-serif";
  g.fillText(`${r.params.direction} ${r.model} trace from ${sourceText(r.source)} · hash ${r.trace_hash.slice(0, 16)}`, 12, 22);
  g.font = "12px 'DejaVu Sans', sans-serif";
  const t = r.totals;
  g.fillText(`traced ${fmtBTC(t.traced_sat)} = tagged ${fmtBTC(t.to_endpoints_sat)} + unspent ${fmtBTC(t.unspent_sat)} + fees ${fmtBTC(t.fees_sat)} + below ${fmtBTC(t.below_threshold_sat)} + stopped ${fmtBTC(t.stopped_sat)}`, 12, 42);
  const cols = [[12, "kind"], [130, "address"], [520, "label / entity"], [820, "amount"], [1010, "hops"]];
  g.font = "bold 12px 'DejaVu Sans', sans-serif";
  cols.forEach(([x, name]) => g.fillText(name, x, top));
  g.font = "12px 'DejaVu Sans Mono', monospace";
  rows.forEach((e, i) => {
    const y = top + (i + 1) * lineH;
    if (e.kind === "tagged") { g.fillStyle = "#eef6ff"; g.fillRect(8, y - 13, W - 16, lineH); }
    g.fillStyle = "#1d232b";
    g.fillText(e.kind.replace(/_/g, " "), 12, y);
    g.fillText(e.address || (e.outputs[0] || ""), 130, y);
    g.fillText(short(e.label || (e.cluster !== null ? `entity ${e.cluster}` : ""), 36), 520, y);
    g.fillText(fmtBTC(e.amount_sat).padStart(22), 820, y);
    g.fillText(String(e.hops), 1010, y);
  });
  if (r.endpoints_total > rows.length) g.fillText(`… ${r.endpoints_total - rows.length} more endpoints in the CSV`, 12, top + (rows.length + 1.5) * lineH);
  c.toBlob((b) => b && download(`trace-${r.trace_hash.slice(0, 12)}-endpoints.png`, b), "image/png");
}

// The endpoint table as CSV from what is on the page (used when offline of the API, e.g. in the case file).
export function endpointsCsv(r) {
  const head = ["kind", "address", "entity", "label", "tags", "amount_sat", "hops"];
  const lines = [head.join(",")];
  for (const e of r.endpoints) lines.push([e.kind, e.address, e.cluster, e.label, e.tags.join(";"), e.amount_sat, e.hops].map(csvCell).join(","));
  return lines.join("\n") + "\n";
}

export function lastTrace() { return last; }
