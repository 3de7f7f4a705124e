// The case panel: subjects and notes the investigator collects from the canvas, and saved traces.
// With a case API on the server (features.cases) items go to the case file and its audit log; without
// one they are kept in this browser (localStorage) and can be exported as JSON.

import * as api from "./api.js";
import { download, fmtBTC, h, short } from "./format.js";

const KEY = "chaintrail.case";

export class CasePanel {
  constructor(el, meta) {
    this.el = el;
    this.remote = Boolean(meta.features && meta.features.cases);
    this.storeKey = `${KEY}.${meta.network}.${meta.counts.txs}`;
    this.caseId = null;
    this.remoteError = null;
    this.state = JSON.parse(localStorage.getItem(this.storeKey) || '{"items":[],"notes":{},"findings":[]}');
  }

  save() { localStorage.setItem(this.storeKey, JSON.stringify(this.state)); }

  noteFor(id) { return this.state.notes[id] || null; }

  notedIds() { return Object.keys(this.state.notes); }

  async setNote(id, label, text) {
    if (text) this.state.notes[id] = text; else delete this.state.notes[id];
    this.save();
    await this.pushRemote("note", { subject: id, label, text });
    this.render();
  }

  async add(node) {
    if (this.state.items.some((i) => i.id === node.id)) return false;
    const item = { id: node.id, kind: node.kind, label: node.label || node.id, address: node.address || null,
                   txid: node.txid || null, cluster: node.cluster ?? null, added: new Date().toISOString() };
    this.state.items.push(item);
    this.save();
    await this.pushRemote("subject", item);
    this.render();
    return true;
  }

  async addFinding(trace) {
    const f = { kind: "trace", trace_hash: trace.trace_hash, source: trace.source, params: trace.params,
                totals: trace.totals, endpoints: trace.endpoints.filter((e) => e.kind === "tagged").slice(0, 50),
                added: new Date().toISOString() };
    this.state.findings = this.state.findings.filter((x) => x.trace_hash !== f.trace_hash).concat([f]);
    this.save();
    await this.pushRemote("finding", f);
    this.render();
  }

  remove(id) {
    this.state.items = this.state.items.filter((i) => i.id !== id);
    this.save();
    this.render();
  }

  // Case API calls are best-effort here: the local copy is always kept, and a failure is shown.
  async pushRemote(kind, body) {
    if (!this.remote) return;
    try {
      if (!this.caseId) {
        const made = await api.post("/cases", { title: "Workbench case", description: "Opened from the workbench" });
        this.caseId = made.id || made.case_id;
      }
      await api.post(`/cases/${encodeURIComponent(this.caseId)}/${kind === "note" ? "notes" : kind === "finding" ? "findings" : "subjects"}`, body);
      this.remoteError = null;
    } catch (err) {
      this.remoteError = `case server: ${err.message}`;
    }
  }

  exportJson() {
    download("case.json", new Blob([JSON.stringify(this.state, null, 1)], { type: "application/json" }));
  }

  render(open) {
    const s = this.state;
    this.el.replaceChildren(
      h("h3", {}, this.remote ? `Case file${this.caseId ? ` ${this.caseId}` : ""}` : "Case (kept in this browser)"),
      this.remoteError ? h("p", { class: "error" }, this.remoteError) : null,
      h("p", { class: "muted" }, this.remote ? "Items are written to the case file on the server." :
        "No case server here: items stay in this browser. Export them as JSON."),
      h("h3", {}, `Subjects (${s.items.length})`),
      s.items.length ? h("table", { id: "case-items" }, h("tbody", {}, s.items.map((i) => h("tr", { dataset: { id: i.id } },
        h("td", {}, i.kind), h("td", { class: "mono clickable", onclick: () => open && open(i) }, short(i.address || i.txid || i.label, 30)),
        h("td", {}, i.label !== (i.address || i.txid) ? i.label : ""),
        h("td", {}, h("button", { onclick: () => this.remove(i.id) }, "remove")))))) : h("p", { class: "muted" }, "Nothing added yet."),
      h("h3", {}, `Notes (${Object.keys(s.notes).length})`),
      ...Object.entries(s.notes).map(([id, text]) => h("div", { class: "note" }, h("b", {}, short(id, 30)), "\n", text)),
      h("h3", {}, `Saved traces (${s.findings.length})`),
      ...s.findings.map((f) => h("div", {}, h("code", {}, short(f.trace_hash, 16)), ` ${f.params.direction} ${f.params.model}: `,
        `${f.endpoints.length} tagged endpoints, ${fmtBTC(f.totals.to_endpoints_sat)} to services`)),
      h("div", { class: "row" }, h("button", { onclick: () => this.exportJson() }, "Export case JSON")),
    );
  }
}
