// The alerts panel: alerts `chaintrail follow` raises, live over server-sent events (GET /alerts/stream), with
// the unread count per case and a total on the Case tab. A retracted alert stays, struck through, with why; one
// imported from another agency's case package carries a badge naming that agency (its record, read-only here).
import * as api from "./api.js";
import { h } from "./format.js";
import { t } from "./i18n.js";

export class AlertsPanel {
  constructor(root, tabButton) {
    this.root = root;
    this.tab = tabButton;
    this.alerts = new Map();        // id -> alert
    this.unread = {};               // case ref -> count
    this.abort = new AbortController();
  }

  start() {
    this.render();
    const run = () => api.stream("/alerts/stream", {}, (name, data) => this.onEvent(name, data), this.abort.signal)
      .catch(() => undefined)
      .finally(() => { if (!this.abort.signal.aborted) setTimeout(run, 2000); });   // reconnect
    run();
  }

  stop() { this.abort.abort(); }

  onEvent(name, data) {
    if (name === "alert") this.alerts.set(data.id, data);
    else if (name === "unread") this.unread = data;
    this.render();
  }

  async markRead(ids) {
    await api.post("/alerts/read", { ids });
    for (const id of ids) { const a = this.alerts.get(id); if (a) a.read = true; }
    this.render();
  }

  render() {
    const total = Object.values(this.unread).reduce((a, b) => a + b, 0);
    if (this.tab) {
      let badge = this.tab.querySelector(".alert-badge");
      if (!badge) { badge = h("span", { class: "alert-badge", id: "alerts-badge" }); this.tab.append(badge); }
      badge.textContent = total ? ` ${total}` : "";
    }
    const counts = Object.entries(this.unread).map(([ref, n]) =>
      h("li", { dataset: { case: ref } }, h("b", {}, ref), ": ", t("alerts.unread", { n })));
    const rows = [...this.alerts.values()].sort((a, b) => b.id - a.id).map((a) => {
      const gone = a.status === "retracted";
      return h("li", { class: `alert ${gone ? "retracted" : "active"} ${a.read ? "read" : "unread"}`,
                       dataset: { id: a.id, status: a.status, tx: a.tx_hash, caseRef: a.case_ref } },
        h("div", { style: gone ? "text-decoration: line-through" : "" },
          h("b", {}, a.case_ref), " · ", t("alerts.line", { reason: a.reason, amount: String(a.amount), asset: a.asset })),
        a.imported_from ? h("span", { class: "chip alert-imported", "data-testid": "alert-imported",
                                      title: t("alerts.imported_title", { agency: a.imported_from }) },
          t("alerts.imported", { agency: a.imported_from })) : null,
        h("div", { class: "mono" }, `tx ${a.tx_hash}`),
        h("div", { class: "mono" }, `${t("tx.block")} ${a.block_number} ${a.block_hash}`),
        gone ? h("div", { class: "retract-reason" }, t("alerts.retracted", { reason: a.retract_reason })) : null,
        a.read ? null : h("button", { class: "mark-read", onclick: () => this.markRead([a.id]) }, t("alerts.mark_read")));
    });
    this.root.replaceChildren(
      h("h3", {}, t("alerts.title")),
      h("ul", { id: "alerts-unread" }, counts),
      rows.length ? h("ul", { id: "alerts-list" }, rows) : h("p", { class: "muted" }, t("alerts.none")));
  }
}
