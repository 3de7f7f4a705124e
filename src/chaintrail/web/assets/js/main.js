// Workbench wiring: search, canvas, toolbar, side panels and the demo's guided steps.

import * as api from "./api.js";
import * as graph from "./graph.js";
import * as panels from "./panels.js";
import * as trace from "./trace.js";
import * as account from "./account.js";
import * as fiatMarks from "./fiat_marks.js";
import * as eth from "./eth.js";
import * as ethPanels from "./eth_panels.js";
import * as ethTrace from "./eth_trace.js";
import { AlertsPanel } from "./alerts.js";
import { CasePanel } from "./casefile.js";
import { TrainingPanel } from "./training.js";
import { drawTimeline, timelinePng } from "./timeline.js";
import { download, fmtBTC, h, riskChips, short } from "./format.js";
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const state = { meta: null, casePanel: null, pages: {}, traceTxs: new Set(), busy: 0 };
window.chaintrail = { state };

function status(msg, isError = false) {
  const el = $("status");
  el.textContent = msg || "";
  el.className = isError ? "error" : "muted";
}

async function busy(label, fn) {
  state.busy++;
  status(label);
  document.body.dataset.busy = "1";
  try {
    const out = await fn();
    status("");
    return out;
  } catch (err) {
    status(err.message || String(err), true);
    throw err;
  } finally {
    if (--state.busy === 0) delete document.body.dataset.busy;
  }
}

function tab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.id === `tab-${name}`));
  if (name === "timeline") refreshTimeline();
  if (name === "case") state.casePanel.renderRemote(openCaseItem);
  if (name === "account") account.show($("account-panel"), ...accountSubject(graph.selected())).catch(() => {});
}

// [subject, chain] of the selected node for the Account tab: an address or entity, or an Ethereum account.
function accountSubject(d) {
  if (!d) return [null];
  if (d.chain === "eth") return d.address && !d.far && d.kind !== "eth_conversion" ? [d.address, "eth"] : [null];
  if (d.kind === "address") return [d.address, "btc"];
  if (d.kind === "entity") return [`cluster:${d.cluster}`, "btc"];
  return [null];
}

// -- nodes from API objects ---------------------------------------------------------
function addressNode(a) {
  return { id: `a:${a.address}`, kind: "address", label: a.label || short(a.address, 10), address: a.address,
           cluster: a.cluster, cluster_size: a.cluster_size, large_entity: a.large_entity, risk: a.risk,
           tags: a.tags.map((t) => `${t.risk_categories[0] || t.kind}:${t.label}`), amount_sat: a.received_sat,
           received_sat: a.received_sat, sent_sat: a.sent_sat, fiat: a.fiat || null };
}

function entityNode(e) {
  return { id: `e:${e.id}`, kind: "entity", label: e.name || t("node.entity", { id: String(e.id) }), cluster: e.id, cluster_size: e.size,
           large_entity: e.large, risk: e.risk, tags: e.name ? [e.name] : [], amount_sat: e.received_sat,
           received_sat: e.received_sat, sent_sat: e.sent_sat, fiat: e.fiat || null };
}

function place(node) {
  const added = graph.addFragment({ nodes: [node], edges: [] });
  if (added.length) graph.layout([node.id]);
  graph.selectNode(node.id);
}

// -- opening things -------------------------------------------------------------------
async function openAddress(address) {
  const a = await busy(t("status.loading_address"), () => api.get(`/addresses/${encodeURIComponent(address)}`));
  place(addressNode(a));
}

async function openTx(txid) {
  const frag = await busy(t("status.loading_tx"), () => api.get("/graph/expand", { node: `t:${txid}`, limit: 12 }));
  const added = graph.addFragment(frag);
  graph.layout(added);
  graph.selectNode(`t:${txid}`);
}

async function openEntity(id) {
  const e = await busy(t("status.loading_entity"), () => api.get(`/entities/${id}`));
  place(entityNode(e));
}

// The Account tab for an address or cluster:N (forensic-accounting schedules, GET /account).
async function openAccount(subject, chain = "btc") {
  tab("account");
  await account.show($("account-panel"), subject, chain);
}

// -- Ethereum ------------------------------------------------------------------------
const isEth = (d) => Boolean(d && d.chain === "eth");

async function openEthAccount(address) {
  address = address.toLowerCase();
  const frag = await busy(t("status.loading_account"), () => eth.accountFragment(address));
  place(frag.nodes[0]);
}

async function openEthTx(hash) {
  const { tx, fragment } = await busy(t("status.loading_tx"), () => eth.txFragment(hash.toLowerCase()));
  const added = graph.addFragment(fragment);
  graph.layout(added);
  tab("details");
  ethPanels.showTx($("tab-details"), tx, ethCtx());
  ethTrace.setSource(tx.hash);
  eth.enrich(added.filter((id) => id.startsWith("x:")).map((id) => id.slice(2)), (n) => graph.addFragment({ nodes: [n], edges: [] }));
  return tx;
}

function ethCtx() {
  return { noteFor: (id) => state.casePanel.noteFor(id), openTx: (h) => openEthTx(h).catch(() => {}),
           openAccount: (a) => openEthAccount(a).catch(() => {}), traceFrom: (src) => startEthTrace(src),
           openSchedule: (subject) => openAccount(subject, "eth").catch(() => {}) };
}

async function startEthTrace(source) {
  ethTrace.setSource(source);
  tab("eth");
  await doEthTrace();
}

async function doEthTrace() {
  const params = ethTrace.formParams();
  if (!params.source) return;
  const r = fiatMarks.markEthEndpoints(await busy(t("status.tracing_eth"), () => ethTrace.runTrace(params)));
  graph.clearTraceMarks();
  const frag = eth.traceFragment(r.graph);
  const added = graph.addFragment(frag, { roles: true });
  graph.countNodes();
  graph.layout(added);
  ethTrace.renderResult($("eth-result"), r, { params, focus: (a) => graph.selectNode(a.startsWith("0x") ? `x:${a}` : a) });
  $("eth-result").prepend(h("div", { class: "row" }, h("button", { id: "eth-trace-save", onclick: () =>
    state.casePanel.addEthFinding(r, params).then(() => status(state.casePanel.remoteError || t("status.eth_trace_saved"))) },
    t("trace.save"))));
  document.body.dataset.ethTrace = r.trace_hash;
  const reached = (r.requests || []).map((q) => q.service);
  status(reached.length ? t("status.eth_trace_reached", { n: r.endpoints_total, services: reached.join(", ") }) : t("status.eth_trace", { n: r.endpoints_total }));
}

function openCaseItem(i) {
  if (i.kind === "address") return openAddress(i.address);
  if (i.kind === "tx") return openTx(i.txid);
  if (i.kind === "entity") return openEntity(i.cluster);
  return null;
}

async function showDetails(d) {
  const el = $("tab-details");
  const ctx = { noteFor: (id) => state.casePanel.noteFor(id), openAddress, openTx, openEntity,
                addEntityNode: openEntity, traceFrom: (src) => startTrace(src, "forward"), openAccount };
  tab("details");
  try {
    if (isEth(d)) {
      if (d.kind === "eth_conversion") ethPanels.showConversion(el, d);
      else if (d.kind === "eth_chain") ethPanels.showChain(el, d);
      else if (d.kind === "eth_ends") ethPanels.showEnds(el, d);
      else if (d.far) ethPanels.showFarAccount(el, d);
      else await ethPanels.showAccount(el, d.address, ethCtx());
    }
    else if (d.kind === "address") await panels.showAddress(el, d.address, ctx);
    else if (d.kind === "tx") await panels.showTx(el, d.txid, ctx);
    else if (d.kind === "entity") await panels.showEntity(el, d.cluster, ctx);
    else panels.showPlain(el, d, ctx);
  } catch (err) {
    el.replaceChildren(h("p", { class: "error" }, err.message));
  }
}

// -- search ---------------------------------------------------------------------------
async function search(q) {
  q = q.trim();
  if (!q) return;
  if (state.meta.features.eth && eth.ADDRESS.test(q)) { $("search-results").hidden = true; return openEthAccount(q); }
  if (state.meta.features.eth && eth.TX_HASH.test(q)) { $("search-results").hidden = true; return openEthTx(q); }
  const res = await busy(t("status.searching"), () => api.get("/search", { q, limit: 20 }));
  const list = $("search-results");
  const exact = res.items.find((i) => i.id === q && i.kind !== "tag");
  if (exact) {
    list.hidden = true;
    return openHit(exact);
  }
  list.replaceChildren(...(res.items.length ? res.items.map((i) => h("li", { dataset: { kind: i.kind, id: i.id },
    onclick: () => { list.hidden = true; openHit(i); } },
    h("span", { class: "kind" }, t(`kind.${i.kind}`)), h("span", { class: "mono" }, short(i.label, 44)), " ", ...riskChips(i.risk),
    i.detail ? h("div", { class: "muted" }, i.detail) : null)) : [h("li", { class: "muted" }, t("search.nothing", { q }))]));
  list.hidden = false;
  return null;
}

function openHit(i) {
  if (i.kind === "address" || i.kind === "tag") return i.id ? openAddress(i.id) : null;
  if (i.kind === "transaction") return openTx(i.id);
  if (i.kind === "entity") return openEntity(Number(i.id));
  return null;
}

// -- toolbar actions ------------------------------------------------------------------
async function expand(d) {
  if (!d) return;
  if (d.kind === "more") { status(t("status.more_hint")); return; }
  if (isEth(d)) return expandEth(d);
  if (d.kind === "entity" && d.large_entity) {
    status(t("status.large_entity", { id: String(d.cluster), n: d.cluster_size }));
    await showDetails(d);
    return;
  }
  const ref = d.kind === "address" ? `a:${d.address}` : d.kind === "tx" ? `t:${d.txid}` : d.kind === "entity" ? `e:${d.cluster}` : null;
  if (!ref) return;
  const offset = state.pages[ref] || 0;
  const frag = await busy(t("status.expanding"), () => api.get("/graph/expand", { node: ref, offset, limit: 25 }));
  if (d.kind === "address") state.pages[ref] = offset + Math.max(0, frag.nodes.length - 1);
  const added = graph.addFragment(frag);
  graph.layout(added.concat([d.id]));
  graph.selectNode(d.id);
  status(frag.note || (frag.truncated ? t("status.showing_of", { shown: Math.min(frag.total, offset + 25), total: frag.total }) : t("status.new_nodes", { n: added.length })));
}

async function expandEth(d) {
  if (!d.address) return;
  const ref = d.id;
  const offset = state.pages[ref] || 0;
  const frag = await busy(t("status.expanding"), () => eth.expandFragment(d.address, offset));
  state.pages[ref] = frag.next_offset ?? offset + frag.shown;
  const added = graph.addFragment(frag);
  graph.layout(added.concat([d.id]));
  graph.selectNode(d.id);
  eth.enrich(added.filter((id) => id.startsWith("x:")).map((id) => id.slice(2)), (n) => graph.addFragment({ nodes: [n], edges: [] }));
  status(frag.next_offset !== null ? t("status.flows_of", { from: offset + 1, to: offset + frag.shown, total: frag.total }) : t("status.new_nodes", { n: added.length }));
}

function traceSource(d) {
  if (isEth(d)) return d.address || d.tx || null;
  if (d.kind === "address") {
    const whole = $("trace-entity").checked && d.cluster_size > 1 && !d.large_entity;
    return whole ? `cluster:${d.cluster}` : d.address;
  }
  if (d.kind === "tx") return d.txid;
  if (d.kind === "entity") return `cluster:${d.cluster}`;
  if (d.kind === "output" && d.id.startsWith("o:") && !d.id.includes(":in")) return d.id.slice(2);
  return null;
}

async function startTrace(source, direction) {
  trace.setSource(source, direction);
  tab("trace");
  await doTrace();
}

async function doTrace() {
  const params = trace.formParams();
  if (!params.source) return;
  const r = fiatMarks.markBtcEndpoints(await busy(t("status.tracing"), () => trace.runTrace(params)));
  graph.clearTraceMarks();
  const added = graph.addFragment(r.graph, { roles: true });
  graph.countNodes();
  graph.layout(added);
  state.traceTxs = new Set(r.graph.nodes.filter((n) => n.kind === "tx").map((n) => n.txid));
  const ctx = { focusAddress: (a) => { graph.selectNode(`a:${a}`); } };
  trace.renderResult($("trace-result"), r, ctx);
  $("trace-result").prepend(h("div", { class: "row" },
    h("button", { id: "trace-save", onclick: () => state.casePanel.addFinding(r, params).then(() => status(t("status.trace_saved"))) }, t("trace.save"))));
  status(t("status.trace_done", { n: r.endpoints_total, amount: fmtBTC(r.totals.to_endpoints_sat) }));
}

function refreshTimeline() {
  const txs = graph.txNodes().map((t) => ({ ...t, onTrace: state.traceTxs.has(t.txid) }));
  drawTimeline($("timeline"), $("timeline-list"), txs, (t) => graph.selectNode(`t:${t.txid}`));
}

function noteDialog(d) {
  const dlg = $("note-dialog");
  $("note-title").textContent = t("note.on", { label: d.label || d.id });
  $("note-text").value = state.casePanel.noteFor(d.id) || "";
  dlg.onclose = async () => {
    if (dlg.returnValue !== "save") return;
    const text = $("note-text").value.trim();
    await state.casePanel.setNote(d.id, d.label || d.id, text);
    graph.getCy().getElementById(d.id).data("note", text || null);
    graph.markNoted(d.id, Boolean(text));
    showDetails(d);
  };
  dlg.showModal();
}

// -- start-up -------------------------------------------------------------------------
function banner(c) {
  if (!c) return;
  // Steps and title carry a catalog key and fields (amounts as *_sat, written here as BTC); others their text.
  const text = (key, params, fallback) => {
    if (!key || t(key) === key) return fallback;
    return t(key, Object.fromEntries(Object.entries(params || {}).map(([k, v]) => [k, k.endsWith("_sat") ? fmtBTC(v) : v])));
  };
  $("case-title").textContent = text(c.title_key, c.title_params, c.title);
  const steps = c.steps || [];
  $("case-steps").replaceChildren(...steps.map((s) => h("li", {}, text(s.key, s.params, s.text), " ",
    s.action ? h("a", { onclick: () => runStep(s) }, t("banner.do_it")) : null)));
  $("case-banner").hidden = false;
}

async function runStep(s) {
  if (s.action === "search") { $("search-input").value = s.arg; await search(s.arg); }
  else if (s.action === "trace") {
    if (s.mixer_policy) $("trace-mixer").value = s.mixer_policy;
    const id = `a:${s.arg}`;
    if (!graph.selectNode(id)) await openAddress(s.arg);
    const src = traceSource(graph.selectNode(id) || {});
    if (src) await startTrace(src, "forward");
  }
  else if (s.action === "endpoints") { tab("trace"); }
  else if (s.action === "eth_tx") { $("search-input").value = s.arg; await openEthTx(s.arg); }
  else if (s.action === "eth_trace") { $("eth-until").checked = true; await startEthTrace(s.arg); }
  else if (s.action === "eth_requests") { tab("eth"); $("eth-result").scrollIntoView(); }
}

function wire() {
  $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); search($("search-input").value).catch(() => {}); });
  document.addEventListener("click", (ev) => { if (!$("search-form").contains(ev.target)) $("search-results").hidden = true; });
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => tab(b.dataset.tab)));
  $("btn-expand").onclick = () => expand(graph.selected()).catch(() => {});
  $("btn-trace").onclick = () => {
    const d = graph.selected() || {};
    const s = traceSource(d);
    if (s && isEth(d)) startEthTrace(s).catch(() => {});
    else if (s) startTrace(s, "forward").catch(() => {});
  };
  $("eth-form").addEventListener("submit", (ev) => { ev.preventDefault(); doEthTrace().catch(() => {}); });
  $("btn-trace-back").onclick = () => { const s = traceSource(graph.selected() || {}); if (s) startTrace(s, "backward").catch(() => {}); };
  $("btn-note").onclick = () => { const d = graph.selected(); if (d) noteDialog(d); };
  $("btn-case").onclick = async () => { const d = graph.selected(); if (d && await state.casePanel.add(d)) status(t("status.added_to_case", { label: d.label || d.id })); };
  $("btn-fit").onclick = () => graph.getCy().fit(undefined, 30);
  $("btn-layout").onclick = () => graph.layout();
  $("btn-png").onclick = async () => download("fund-flow.png", await graph.png());
  $("btn-clear").onclick = () => { graph.getCy().elements().remove(); graph.countNodes(); state.pages = {}; state.traceTxs = new Set(); };
  $("timeline-png").onclick = () => timelinePng($("timeline"));
  $("trace-form").addEventListener("submit", (ev) => { ev.preventDefault(); doTrace().catch(() => {}); });
  trace.bindMixerDefault();
  graph.onSelect((d) => {
    ["btn-expand", "btn-trace", "btn-trace-back", "btn-note", "btn-case"].forEach((id) => { $(id).disabled = false; });
    $("btn-trace").disabled = $("btn-trace-back").disabled = !traceSource(d);
    if (isEth(d)) $("btn-trace-back").disabled = true;      // Ethereum traces run forward only
    const src = traceSource(d);
    if (src && isEth(d)) ethTrace.setSource(src);
    else if (src) trace.setSource(src);
    showDetails(d);
  });
  graph.onUnselect(() => ["btn-expand", "btn-trace", "btn-trace-back", "btn-note", "btn-case"].forEach((id) => { $(id).disabled = true; }));
}

async function start() {
  await i18n.init().catch(() => {});
  i18n.picker($("lang-picker"));
  if (!api.initToken()) { $("token-gate").hidden = false; }
  $("token-form").addEventListener("submit", (ev) => { ev.preventDefault(); api.setToken($("token-input").value.trim()); location.reload(); });
  try {
    state.meta = await api.get("/meta");
  } catch (err) {
    $("token-gate").hidden = false;
    $("token-error").textContent = err.status === 401 ? t("token.refused") : err.message;
    return;
  }
  const m = state.meta;
  const btc = m.counts.txs > 0 || !m.features.eth;
  $("store-info").textContent = [btc ? t("store.info", { network: m.network || "?", blocks: m.counts.blocks, txs: m.counts.txs, addresses: m.counts.addresses }) : null,
    m.features.eth ? "Ethereum" : null, t("store.tags", { n: m.tags })].filter(Boolean).join(" · ");
  if (m.features.eth) {
    $("tab-btn-eth").hidden = false;
    $("search-input").placeholder = btc ? t("search.placeholder_eth") : t("search.placeholder_eth_only");
  }
  if (!btc) document.querySelectorAll('#tabs button[data-tab="trace"], #tabs button[data-tab="timeline"]').forEach((b) => { b.hidden = true; });
  state.casePanel = new CasePanel($("case-panel"), m);
  if (m.features.cases) {
    state.alerts = new AlertsPanel($("alerts-panel"), document.querySelector('#tabs button[data-tab="case"]'));
    state.alerts.start();
  }
  if (m.features.training) {
    $("tab-btn-training").hidden = false;
    state.training = new TrainingPanel($("training-panel"));
    state.training.start().catch((err) => status(err.message, true));
  }
  try {
    window.chaintrail.cy = graph.initGraph($("cy"), $("tooltip"));
  } catch (err) {
    status(err.message, true);
    return;
  }
  graph.setTooltipExtra(ethPanels.tooltip);
  graph.legend($("legend"), m.features.eth ? [[t("legend.contract"), eth.ETH_COLORS.contract], [t("legend.token"), eth.ETH_COLORS.token],
    [t("legend.swap"), eth.ETH_COLORS.conversion], [t("legend.bridge"), eth.ETH_COLORS.chain]] : []);
  wire();
  banner(m.case);
  document.body.dataset.ready = "1";
}

start();
