// The case panel: subjects, notes and saved traces the investigator collects from the canvas.
// With the case API on the server (features.cases) they go into a case file, with its audit log and
// findings the server re-runs and hashes; without one they are kept in this browser (localStorage)
// and can be exported as JSON. A local copy is always kept, so nothing is lost if a call fails.

import * as api from "./api.js";
import { download, fmtBTC, h, short } from "./format.js";
import { t, tOr } from "./i18n.js";

const KEY = "chaintrail.case";

// The value the case API files a node under: ADDRESS, TXID or cluster:N.
export function subjectValue(node) {
  if (node.kind === "address") return node.address;
  if (node.kind === "tx") return node.txid;
  if (node.kind === "entity") return `cluster:${node.cluster}`;
  return null;
}

export class CasePanel {
  constructor(el, meta) {
    this.el = el;
    this.remote = Boolean(meta.features && meta.features.cases);
    this.storeKey = `${KEY}.${meta.network}.${meta.counts.txs}`;
    this.caseRef = sessionStorage.getItem(`${this.storeKey}.ref`);
    this.cases = [];
    this.remoteView = null;
    this.remoteError = null;
    this.defaultTitle = (meta.case && meta.case.case_id) ? t("case.title_demo", { id: meta.case.case_id }) : t("case.title_default");
    this.state = JSON.parse(localStorage.getItem(this.storeKey) || '{"items":[],"notes":{},"findings":[]}');
  }

  save() { localStorage.setItem(this.storeKey, JSON.stringify(this.state)); }

  noteFor(id) { return this.state.notes[id] || null; }

  async setNote(id, label, text) {
    if (text) this.state.notes[id] = text; else delete this.state.notes[id];
    this.save();
    if (text) await this.remoteCall((ref) => api.post(`/cases/${ref}/notes`, { body: text, about: id.slice(2) }));
    this.render();
  }

  async add(node) {
    if (this.state.items.some((i) => i.id === node.id)) return false;
    const item = { id: node.id, kind: node.kind, label: node.label || node.id, address: node.address || null,
                   txid: node.txid || null, cluster: node.cluster ?? null, added: new Date().toISOString() };
    this.state.items.push(item);
    this.save();
    const value = subjectValue(node);
    if (value) await this.remoteCall((ref) => api.post(`/cases/${ref}/subjects`, { value, label: item.label }));
    this.render();
    return true;
  }

  // A trace saved to the case file is run again by the server, so the finding carries its own hash
  // and block provenance; the local copy keeps what the workbench showed.
  async addFinding(trace, params) {
    const f = { kind: "trace", trace_hash: trace.trace_hash, source: trace.source, params: trace.params,
                totals: trace.totals, endpoints: trace.endpoints.filter((e) => e.kind === "tagged").slice(0, 50),
                added: new Date().toISOString() };
    this.state.findings = this.state.findings.filter((x) => x.trace_hash !== f.trace_hash).concat([f]);
    this.save();
    const p = trace.params;
    await this.remoteCall((ref) => api.post(`/cases/${ref}/findings`, {
      kind: "trace", source: params.source, direction: p.direction, model: p.model, max_hops: p.max_hops,
      min_amount_sat: p.min_amount_sat, stop_categories: p.stop_categories, mixer_policy: p.mixer_policy,
      title: t("case.finding_trace", { source: params.source }) }));
    this.render();
  }

  // An Ethereum trace (the workbench's form parameters) saved as an eth_trace finding the server re-runs.
  async addEthFinding(trace, params) {
    const f = { kind: "eth_trace", trace_hash: trace.trace_hash, source: params.source, params: trace.params,
                endpoints: trace.endpoints.filter((e) => e.kind === "tagged" || e.kind === "deposit_address").slice(0, 50),
                summary: t("case.eth_summary", { n: trace.endpoints_total,
                  services: (trace.requests || []).map((q) => q.service).join(", ") || t("case.no_service") }),
                added: new Date().toISOString() };
    this.state.findings = this.state.findings.filter((x) => x.trace_hash !== f.trace_hash).concat([f]);
    this.save();
    // The form's parameters, as /eth/trace got them: the server widens them for until_exchange the same way.
    const saved = await this.remoteCall((ref) => api.post(`/cases/${ref}/findings`, {
      kind: "eth_trace", source: params.source, asset: params.asset, model: params.model,
      max_hops: Math.min(Number(params.max_hops), 200), min_amount: Number(params.min_amount),
      stop_categories: params.stop, mixer_policy: params.mixer_policy, until_exchange: Boolean(params.until_exchange),
      title: t("case.finding_eth_trace", { source: params.source }) }));
    this.render();
    return saved;
  }

  remove(id) {
    this.state.items = this.state.items.filter((i) => i.id !== id);
    this.save();
    this.render();
  }

  async ensureCase() {
    if (this.caseRef) return this.caseRef;
    const made = await api.post("/cases", { title: this.defaultTitle, summary: t("case.opened_from"), tlp: "amber" });
    this.selectCase(made.ref);
    return made.ref;
  }

  selectCase(ref) {
    this.caseRef = ref;
    if (ref) sessionStorage.setItem(`${this.storeKey}.ref`, ref); else sessionStorage.removeItem(`${this.storeKey}.ref`);
  }

  async remoteCall(fn) {
    if (!this.remote) return null;
    try {
      const ref = await this.ensureCase();
      const out = await fn(encodeURIComponent(ref));
      this.remoteError = null;
      return out;
    } catch (err) {
      this.remoteError = t("case.error", { message: err.message });
      return null;
    }
  }

  async refreshRemote() {
    if (!this.remote) return;
    try {
      this.cases = await api.get("/cases");
      this.remoteView = this.caseRef ? await api.get(`/cases/${encodeURIComponent(this.caseRef)}`) : null;
      this.remoteError = null;
    } catch (err) {
      this.remoteError = t("case.error", { message: err.message });
      if (err.status === 404) this.selectCase(null);
    }
  }

  exportJson() {
    download("case.json", new Blob([JSON.stringify(this.state, null, 1)], { type: "application/json" }));
  }

  async renderRemote(open) {
    await this.refreshRemote();
    this.render(open);
  }

  remoteBlock() {
    if (!this.remote) {
      return h("p", { class: "muted" }, t("case.local_only"));
    }
    const pick = h("select", { id: "case-select", onchange: (ev) => { this.selectCase(ev.target.value || null); this.renderRemote(); } },
      h("option", { value: "" }, t("case.new_on_first")),
      this.cases.map((c) => h("option", { value: c.ref, selected: c.ref === this.caseRef }, `${c.ref} · ${c.title} · TLP:${c.tlp.toUpperCase()}`)));
    const v = this.remoteView;
    return h("div", {},
      h("div", { class: "row" }, t("case.file"), " ", pick),
      v ? h("p", { class: "muted", "data-testid": "case-remote" },
        t("case.remote_summary", { ref: v.case.ref, subjects: v.subjects.length, findings: v.findings.length, notes: v.notes.length }))
        : h("p", { class: "muted" }, t("case.remote_hint")));
  }

  render(open) {
    const s = this.state;
    this.el.replaceChildren(...[
      h("h3", {}, this.remote ? t("tab.case") : t("case.title_local")),
      this.remoteError ? h("p", { class: "error" }, this.remoteError) : null,
      this.remoteBlock(),
      h("h3", {}, t("case.subjects", { n: s.items.length })),
      s.items.length ? h("table", { id: "case-items" }, h("tbody", {}, s.items.map((i) => h("tr", { dataset: { id: i.id } },
        h("td", {}, tOr(i.kind === "tx" ? "kind.transaction" : `kind.${i.kind}`, i.kind)), h("td", { class: "mono clickable", onclick: () => open && open(i) }, i.address || i.txid || i.label),
        h("td", {}, i.label && !(i.address || i.txid || "").startsWith(i.label.replace("…", "")) ? i.label : ""),
        h("td", {}, h("button", { onclick: () => this.remove(i.id) }, t("case.remove"))))))) : h("p", { class: "muted" }, t("case.nothing")),
      h("h3", {}, t("case.notes", { n: Object.keys(s.notes).length })),
      ...Object.entries(s.notes).map(([id, text]) => h("div", { class: "note" }, h("b", {}, short(id, 30)), "\n", text)),
      h("h3", {}, t("case.saved_traces", { n: s.findings.length })),
      ...s.findings.map((f) => h("div", {}, h("code", {}, short(f.trace_hash, 16)), ` ${f.params.direction ? t(`direction.${f.params.direction}`) : ""} ${f.params.model}: `,
        f.summary || t("case.trace_summary", { n: f.endpoints.length, amount: fmtBTC(f.totals.to_endpoints_sat) }))),
      h("div", { class: "row" }, h("button", { onclick: () => this.exportJson() }, t("case.export_json"))),
    ].filter(Boolean));
  }
}
