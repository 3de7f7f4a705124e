// The details panel: what the API knows about the selected node. Entities are shown as a summary with
// a paged member table; they are never drawn member by member when large.

import * as api from "./api.js";
import { chip, fmtBTC, fmtTime, h, kv, riskChips, short } from "./format.js";

const PAGE = 50;

function tagTable(tags) {
  if (!tags || !tags.length) return h("p", { class: "muted" }, "No tags.");
  return h("table", { class: "tags" },
    h("thead", {}, h("tr", {}, h("th", {}, "label"), h("th", {}, "kind"), h("th", {}, "confidence"), h("th", {}, "source / provenance"))),
    h("tbody", {}, tags.map((t) => h("tr", {},
      h("td", {}, t.label || "?", t.via === "cluster" ? h("span", { class: "muted" }, " (entity)") : null,
        t.conflict ? h("span", { class: "error" }, " conflict") : null),
      h("td", {}, t.kind, " ", ...riskChips(t.risk_categories)),
      h("td", {}, t.confidence || "–"),
      h("td", { class: "mono" }, [t.source, t.provenance].filter(Boolean).join(" · "))))));
}

function noteBlock(note) {
  return note ? h("div", { class: "note", "data-testid": "node-note" }, note) : null;
}

export async function showAddress(el, address, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, "loading…"));
  const a = await api.get(`/addresses/${encodeURIComponent(address)}`);
  const body = [
    h("h3", {}, a.label || "Address"),
    h("div", { class: "mono" }, a.address),
    h("div", {}, ...riskChips(a.risk)),
    noteBlock(ctx.noteFor(`a:${a.address}`)),
    kv([
      ["type", a.script_type],
      ["received", fmtBTC(a.received_sat)], ["sent", fmtBTC(a.sent_sat)], ["balance", fmtBTC(a.balance_sat)],
      ["transactions", `${a.n_txs.toLocaleString()} (${a.n_outputs} outputs, ${a.n_inputs} inputs)`],
      ["first seen", a.first_seen ? `${fmtTime(a.first_seen.time)} (height ${a.first_seen.height ?? "?"})` : null],
      ["last seen", a.last_seen ? `${fmtTime(a.last_seen.time)} (height ${a.last_seen.height ?? "?"})` : null],
      ["entity", h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); ctx.openEntity(a.cluster); } },
        `entity ${a.cluster} · ${a.cluster_size.toLocaleString()} addresses${a.large_entity ? " (large: summary only)" : ""}`)],
    ]),
    h("h3", {}, "Tags"), tagTable(a.tags),
    h("div", { class: "row" }, h("button", { id: "btn-screen", onclick: () => screen(el, a.address) }, "Screen exposure"),
      h("span", { class: "muted" }, "direct and indirect exposure to risk categories, with a risk level")),
    h("div", { class: "screen-result" }),
  ];
  el.replaceChildren(...body.filter(Boolean));
  await txPage(el, a.address, 0, ctx);
}

const LEVEL_COLORS = { low: "#2a9d8f", medium: "#d4a106", high: "#e85d04", severe: "#c1121f" };

async function screen(el, subject) {
  const box = el.querySelector(".screen-result");
  box.replaceChildren(h("p", { class: "muted" }, "screening…"));
  try {
    const r = await api.get("/screen", { subject, hops: 3 });
    const exp = r.exposures.filter((e) => e.direction !== "self");
    box.replaceChildren(
      h("h3", { "data-testid": "risk-level" }, "Risk ", chip(r.risk.level.toUpperCase(), LEVEL_COLORS[r.risk.level] || "#6b7480")),
      h("ul", {}, r.risk.reasons.map((x) => h("li", {}, h("b", {}, x.level), " ", x.text))),
      exp.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "direction"), h("th", {}, "category"),
        h("th", { class: "num" }, "amount"), h("th", { class: "num" }, "share"), h("th", { class: "num" }, "hops"))),
        h("tbody", {}, exp.map((e) => h("tr", {}, h("td", {}, e.direction), h("td", {}, ...riskChips([e.category])),
          h("td", { class: "num" }, fmtBTC(e.amount_sat)), h("td", { class: "num" }, `${(e.share * 100).toFixed(2)}%`),
          h("td", { class: "num" }, `${e.min_hops}–${e.max_hops}`))))) : null);
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, err.message));
  }
}

async function txPage(el, address, offset, ctx) {
  const page = await api.get(`/addresses/${encodeURIComponent(address)}/txs`, { offset, limit: PAGE });
  const old = el.querySelector(".addr-txs");
  const box = h("div", { class: "addr-txs" },
    h("h3", {}, `Transactions ${page.total ? offset + 1 : 0}–${offset + page.items.length} of ${page.total.toLocaleString()}`),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "time"), h("th", {}, "txid"), h("th", { class: "num" }, "received"),
      h("th", { class: "num" }, "sent"))),
    h("tbody", {}, page.items.map((t) => h("tr", { class: "clickable", onclick: () => ctx.openTx(t.txid) },
      h("td", {}, fmtTime(t.time)), h("td", { class: "mono" }, short(t.txid, 16)),
      h("td", { class: "num" }, t.received_sat ? fmtBTC(t.received_sat) : ""),
      h("td", { class: "num" }, t.sent_sat ? fmtBTC(t.sent_sat) : ""))))),
    pager(offset, page.items.length, page.total, (o) => txPage(el, address, o, ctx)));
  if (old) old.replaceWith(box); else el.append(box);
}

function pager(offset, n, total, go) {
  return h("div", { class: "row" },
    h("button", { disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, "◂ previous"),
    h("button", { disabled: offset + n >= total, onclick: () => go(offset + PAGE) }, "next ▸"));
}

export async function showTx(el, txid, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, "loading…"));
  const t = await api.get(`/txs/${txid}`, { limit: 100 });
  const side = (rows, isIn) => h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, isIn ? "vin" : "vout"), h("th", {}, "address"), h("th", { class: "num" }, "amount"),
      h("th", {}, isIn ? "" : "spent by"))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r.address ? "clickable" : "", onclick: r.address ? () => ctx.openAddress(r.address) : null },
      h("td", {}, isIn ? r.vin : r.vout), h("td", { class: "mono" }, r.address || "(no address)", " ", ...riskChips(r.risk)),
      h("td", { class: "num" }, fmtBTC(r.value_sat)), h("td", { class: "mono" }, isIn ? "" : short(r.spent_by || "unspent", 14))))));
  el.replaceChildren(...[
    h("h3", {}, t.is_coinbase ? "Coinbase transaction" : "Transaction"),
    h("div", { class: "mono" }, t.txid),
    noteBlock(ctx.noteFor(`t:${t.txid}`)),
    kv([["block", `${t.height ?? "?"} · ${short(t.block_hash, 20)}`], ["time", fmtTime(t.time)],
      ["pattern", t.pattern ? `${t.pattern}${t.mixing ? " (mixing: not used for clustering)" : ""}` : "–"],
      ["inputs", `${t.n_inputs} · ${t.input_sat === null ? "value unknown" : fmtBTC(t.input_sat)}`],
      ["outputs", `${t.n_outputs} · ${fmtBTC(t.output_sat)}`],
      ["fee", t.fee_sat === null ? "–" : `${fmtBTC(t.fee_sat)} (${t.vsize} vB)`]]),
    t.is_coinbase ? null : h("h3", {}, "Inputs"), t.is_coinbase ? null : side(t.inputs, true),
    h("h3", {}, "Outputs"), side(t.outputs, false),
    t.n_inputs > 100 || t.n_outputs > 100 ? h("p", { class: "muted" }, "First 100 of each side shown.") : null,
  ].filter(Boolean));
}

export async function showEntity(el, id, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, "loading…"));
  const e = await api.get(`/entities/${id}`);
  el.replaceChildren(...[
    h("h3", {}, e.name || `Entity ${e.id}`),
    h("div", {}, ...riskChips(e.risk)),
    noteBlock(ctx.noteFor(`e:${e.id}`)),
    e.large ? h("div", { class: "warnbox", "data-testid": "large-entity" },
      `Large entity: ${e.size.toLocaleString()} addresses. It is shown as this summary and never drawn whole; page through its members below.`) : null,
    kv([["entity id", String(e.id)], ["addresses", e.size.toLocaleString()], ["received", fmtBTC(e.received_sat)],
      ["sent", fmtBTC(e.sent_sat)], ["balance", fmtBTC(e.balance_sat)], ["tagged addresses", String(e.tagged_members)]]),
    h("h3", {}, "Tags"), tagTable(e.tags),
    h("div", { class: "row" }, h("button", { onclick: () => ctx.addEntityNode(e.id) }, "Put entity on canvas"),
      h("button", { onclick: () => ctx.traceFrom(`cluster:${e.id}`) }, "Trace entity")),
  ].filter(Boolean));
  await memberPage(el, e.id, 0, "received", ctx);
}

async function memberPage(el, id, offset, order, ctx) {
  const page = await api.get(`/entities/${id}/members`, { offset, limit: PAGE, order });
  const old = el.querySelector(".members");
  const box = h("div", { class: "members" },
    h("h3", {}, `Members ${offset + 1}–${offset + page.items.length} of ${page.total.toLocaleString()} (largest first)`),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "address"), h("th", { class: "num" }, "received"), h("th", { class: "num" }, "sent"))),
      h("tbody", {}, page.items.map((m) => h("tr", { class: "clickable" + (m.tagged ? " tagged" : ""), onclick: () => ctx.openAddress(m.address) },
        h("td", { class: "mono" }, m.address, " ", ...riskChips(m.risk)), h("td", { class: "num" }, fmtBTC(m.received_sat)),
        h("td", { class: "num" }, fmtBTC(m.sent_sat)))))),
    pager(offset, page.items.length, page.total, (o) => memberPage(el, id, o, order, ctx)));
  if (old) old.replaceWith(box); else el.append(box);
}

export function showPlain(el, d, ctx) {
  el.replaceChildren(h("h3", {}, d.label || d.kind), noteBlock(ctx.noteFor(d.id)),
    kv([["kind", d.kind], ["amount", d.amount_sat !== undefined ? fmtBTC(d.amount_sat) : null]]),
    d.kind === "more" ? h("p", { class: "muted" }, "Open the transaction in this panel to page through every input and output.") : null);
}
