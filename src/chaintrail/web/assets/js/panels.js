// The details panel: what the API knows about the selected node. Entities are shown as a summary with
// a paged member table; they are never drawn member by member when large.

import * as api from "./api.js";
import { chip, fmtBTC, fmtFiat, fmtTime, h, kv, riskChips, short } from "./format.js";
import { fmtNumber, t as _t } from "./i18n.js";
import { reasonText } from "./reasons.js";

const PAGE = 50;

function tagTable(tags) {
  if (!tags || !tags.length) return h("p", { class: "muted" }, _t("tags.none"));
  return h("table", { class: "tags" },
    h("thead", {}, h("tr", {}, h("th", {}, _t("col.label")), h("th", {}, _t("col.kind")), h("th", {}, _t("col.confidence")), h("th", {}, _t("col.source")))),
    h("tbody", {}, tags.map((t) => h("tr", {},
      h("td", {}, t.label || "?", t.via === "cluster" ? h("span", { class: "muted" }, " ", _t("tags.via_entity")) : null,
        t.conflict ? h("span", { class: "error" }, " ", _t("tags.conflict")) : null),
      h("td", {}, t.kind, " ", ...riskChips(t.risk_categories)),
      h("td", {}, t.confidence || "–"),
      h("td", { class: "mono" }, [t.source, t.provenance].filter(Boolean).join(" · "))))));
}

// A coin amount with its fiat value beside it ("1.00000000 BTC · 37,000.00 USD"), the day(s) in the tooltip.
function withFiat(sat, f, cur = "USD") {
  if (!f) return fmtBTC(sat);
  const v = f[cur.toLowerCase()] !== undefined ? f[cur.toLowerCase()] : f.usd;
  const days = f.days && f.days.length ? f.days.join(" – ") : f.day;
  const tip = f.missing || _t("fiat.tip", { days: days || "–" });
  return h("span", {}, fmtBTC(sat), " · ", h("span", { class: "fiat", title: tip, "data-testid": "fiat" }, fmtFiat(v, cur)));
}

function noteBlock(note) {
  return note ? h("div", { class: "note", "data-testid": "node-note" }, note) : null;
}

export async function showAddress(el, address, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, _t("status.loading")));
  const a = await api.get(`/addresses/${encodeURIComponent(address)}`);
  const body = [
    h("h3", {}, a.label || _t("addr.title")),
    h("div", { class: "mono" }, a.address),
    h("div", {}, ...riskChips(a.risk)),
    noteBlock(ctx.noteFor(`a:${a.address}`)),
    kv([
      [_t("addr.type"), a.script_type],
      [_t("addr.received"), withFiat(a.received_sat, a.fiat && a.fiat.received)], [_t("addr.sent"), withFiat(a.sent_sat, a.fiat && a.fiat.sent)],
      [_t("addr.balance"), withFiat(a.balance_sat, a.fiat && a.fiat.balance)],
      [_t("addr.transactions"), _t("addr.tx_counts", { n: a.n_txs, outputs: a.n_outputs, inputs: a.n_inputs })],
      [_t("addr.first_seen"), a.first_seen ? _t("addr.seen_at", { time: fmtTime(a.first_seen.time), height: a.first_seen.height ?? "?" }) : null],
      [_t("addr.last_seen"), a.last_seen ? _t("addr.seen_at", { time: fmtTime(a.last_seen.time), height: a.last_seen.height ?? "?" }) : null],
      [_t("addr.entity"), h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); ctx.openEntity(a.cluster); } },
        _t(a.large_entity ? "addr.entity_link_large" : "addr.entity_link", { id: String(a.cluster), n: a.cluster_size }))],
    ]),
    h("h3", {}, _t("tags.title")), tagTable(a.tags),
    h("div", { class: "row" }, h("button", { id: "btn-screen", onclick: () => screen(el, a.address) }, _t("screen.button")),
      ctx.openAccount ? h("button", { id: "btn-account", onclick: () => ctx.openAccount(a.address) }, _t("account.open")) : null,
      h("span", { class: "muted" }, _t("screen.hint"))),
    h("div", { class: "screen-result" }),
  ];
  el.replaceChildren(...body.filter(Boolean));
  await txPage(el, a.address, 0, ctx);
}

const LEVEL_COLORS = { low: "#2a9d8f", medium: "#d4a106", high: "#e85d04", severe: "#c1121f" };

async function screen(el, subject) {
  const box = el.querySelector(".screen-result");
  box.replaceChildren(h("p", { class: "muted" }, _t("status.screening")));
  try {
    const r = await api.get("/screen", { subject, hops: 3 });
    const exp = r.exposures.filter((e) => e.direction !== "self");
    box.replaceChildren(...[
      h("h3", { "data-testid": "risk-level" }, _t("screen.risk"), " ", chip(_t(`level.${r.risk.level}`).toUpperCase(), LEVEL_COLORS[r.risk.level] || "#6b7480")),
      h("ul", {}, r.risk.reasons.map((x) => h("li", {}, h("b", {}, _t(`level.${x.level}`)), " ", reasonText(x)))),
      exp.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("col.direction")), h("th", {}, _t("col.category")),
        h("th", { class: "num" }, _t("col.amount")), h("th", { class: "num" }, _t("fiat.usd_on_the_day")), h("th", { class: "num" }, _t("col.share")), h("th", { class: "num" }, _t("col.hops")))),
        h("tbody", {}, exp.map((e) => h("tr", {}, h("td", {}, _t(`exposure.${e.direction}`)), h("td", {}, ...riskChips([e.category])),
          h("td", { class: "num" }, fmtBTC(e.amount_sat)), fiatCell(e.fiat && e.fiat.usd, e.fiat && (e.fiat.missing || _t("fiat.tip", { days: e.fiat.days.join(" – ") })), "screen-fiat"), h("td", { class: "num" }, `${fmtNumber(Number((e.share * 100).toFixed(2)))}%`),
          h("td", { class: "num" }, `${e.min_hops}–${e.max_hops}`))))) : null].filter(Boolean));
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, err.message));
  }
}

async function txPage(el, address, offset, ctx) {
  const page = await api.get(`/addresses/${encodeURIComponent(address)}/txs`, { offset, limit: PAGE });
  const old = el.querySelector(".addr-txs");
  const box = h("div", { class: "addr-txs" },
    h("h3", {}, _t("addr.txs_page", { from: page.total ? offset + 1 : 0, to: offset + page.items.length, total: page.total })),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("col.time")), h("th", {}, "txid"), h("th", { class: "num" }, _t("addr.received")),
      h("th", { class: "num" }, _t("addr.sent")), h("th", { class: "num" }, _t("fiat.net_usd_on_the_day")))),
    h("tbody", {}, page.items.map((t) => h("tr", { class: "clickable", onclick: () => ctx.openTx(t.txid) },
      h("td", {}, fmtTime(t.time)), h("td", { class: "mono" }, short(t.txid, 16)),
      h("td", { class: "num" }, t.received_sat ? fmtBTC(t.received_sat) : ""),
      h("td", { class: "num" }, t.sent_sat ? fmtBTC(t.sent_sat) : ""),
      t.fiat ? fiatCell(netUsd(t), _t("fiat.close_tip", { day: t.fiat.day, price: t.fiat.price_usd ?? "–" }), "tx-fiat") : h("td", {}))))),
    pager(offset, page.items.length, page.total, (o) => txPage(el, address, o, ctx)));
  if (old) old.replaceWith(box); else el.append(box);
}

function pager(offset, n, total, go) {
  return h("div", { class: "row" },
    h("button", { disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, _t("pager.previous")),
    h("button", { disabled: offset + n >= total, onclick: () => go(offset + PAGE) }, _t("pager.next")));
}

// A tx row's net USD on its day: received minus sent at that day's close (null where the day has no price).
function netUsd(t) {
  const f = t.fiat;
  if ((t.received_sat && f.received_usd === null) || (t.sent_sat && f.sent_usd === null)) return null;
  return Math.round(((t.received_sat ? f.received_usd : 0) - (t.sent_sat ? f.sent_usd : 0)) * 100) / 100;
}

// A USD value in a table cell, the day and close in the tooltip.
function fiatCell(usd, tip, testid) {
  return h("td", { class: "num fiat", title: tip, "data-testid": testid }, usd === null || usd === undefined ? _t("fiat.no_price") : fmtFiat(usd));
}

export async function showTx(el, txid, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, _t("status.loading")));
  const t = await api.get(`/txs/${txid}`, { limit: 100 });
  const side = (rows, isIn) => h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, isIn ? "vin" : "vout"), h("th", {}, _t("col.address")), h("th", { class: "num" }, _t("col.amount")),
      h("th", {}, isIn ? "" : _t("tx.spent_by")))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r.address ? "clickable" : "", onclick: r.address ? () => ctx.openAddress(r.address) : null },
      h("td", {}, isIn ? r.vin : r.vout), h("td", { class: "mono" }, r.address || _t("tx.no_address"), " ", ...riskChips(r.risk)),
      h("td", { class: "num" }, fmtBTC(r.value_sat)), h("td", { class: "mono" }, isIn ? "" : (r.spent_by ? short(r.spent_by, 14) : _t("tx.unspent")))))));
  el.replaceChildren(...[
    h("h3", {}, t.is_coinbase ? _t("tx.coinbase") : _t("tx.title")),
    h("div", { class: "mono" }, t.txid),
    noteBlock(ctx.noteFor(`t:${t.txid}`)),
    kv([[_t("tx.block"), `${t.height ?? "?"} · ${short(t.block_hash, 20)}`], [_t("col.time"), fmtTime(t.time)],
      [_t("tx.pattern"), t.pattern ? `${t.pattern}${t.mixing ? " " + _t("tx.mixing") : ""}` : "–"],
      [_t("tx.inputs"), `${t.n_inputs} · ${t.input_sat === null ? _t("tx.value_unknown") : fmtBTC(t.input_sat)}`],
      [_t("tx.outputs"), `${t.n_outputs} · ${fmtBTC(t.output_sat)}`],
      [_t("tx.fee"), t.fee_sat === null ? "–" : `${fmtBTC(t.fee_sat)} (${t.vsize} vB)`]]),
    t.is_coinbase ? null : h("h3", {}, _t("tx.inputs_title")), t.is_coinbase ? null : side(t.inputs, true),
    h("h3", {}, _t("tx.outputs_title")), side(t.outputs, false),
    t.n_inputs > 100 || t.n_outputs > 100 ? h("p", { class: "muted" }, _t("tx.first_100")) : null,
  ].filter(Boolean));
}

export async function showEntity(el, id, ctx) {
  el.replaceChildren(h("p", { class: "muted" }, _t("status.loading")));
  const e = await api.get(`/entities/${id}`);
  el.replaceChildren(...[
    h("h3", {}, e.name || _t("entity.title", { id: String(e.id) })),
    h("div", {}, ...riskChips(e.risk)),
    noteBlock(ctx.noteFor(`e:${e.id}`)),
    e.large ? h("div", { class: "warnbox", "data-testid": "large-entity" },
      _t("entity.large", { n: e.size })) : null,
    kv([[_t("entity.id"), String(e.id)], [_t("entity.addresses"), fmtNumber(e.size)],
      [_t("addr.received"), withFiat(e.received_sat, e.fiat && e.fiat.received)],
      [_t("addr.sent"), withFiat(e.sent_sat, e.fiat && e.fiat.sent)], [_t("addr.balance"), withFiat(e.balance_sat, e.fiat && e.fiat.balance)],
      [_t("entity.tagged"), String(e.tagged_members)]]),
    h("h3", {}, _t("tags.title")), tagTable(e.tags),
    h("div", { class: "row" }, h("button", { onclick: () => ctx.addEntityNode(e.id) }, _t("entity.put")) ,
      h("button", { onclick: () => ctx.traceFrom(`cluster:${e.id}`) }, _t("entity.trace")),
      ctx.openAccount ? h("button", { id: "btn-account", onclick: () => ctx.openAccount(`cluster:${e.id}`) }, _t("account.open")) : null),
  ].filter(Boolean));
  await memberPage(el, e.id, 0, "received", ctx);
}

async function memberPage(el, id, offset, order, ctx) {
  const page = await api.get(`/entities/${id}/members`, { offset, limit: PAGE, order });
  const old = el.querySelector(".members");
  const box = h("div", { class: "members" },
    h("h3", {}, _t("entity.members_page", { from: offset + 1, to: offset + page.items.length, total: page.total })),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, _t("col.address")), h("th", { class: "num" }, _t("addr.received")), h("th", { class: "num" }, _t("addr.sent")))),
      h("tbody", {}, page.items.map((m) => h("tr", { class: "clickable" + (m.tagged ? " tagged" : ""), onclick: () => ctx.openAddress(m.address) },
        h("td", { class: "mono" }, m.address, " ", ...riskChips(m.risk)), h("td", { class: "num" }, memberFiat(m.received_sat, m.fiat && m.fiat.received_usd, m.fiat)),
        h("td", { class: "num" }, memberFiat(m.sent_sat, m.fiat && m.fiat.sent_usd, m.fiat)))))),
    pager(offset, page.items.length, page.total, (o) => memberPage(el, id, o, order, ctx)));
  if (old) old.replaceWith(box); else el.append(box);
}

// A member's coins with their USD value beside them (each part on its own day); coins alone without prices.
function memberFiat(sat, usd, fiat) {
  if (!fiat) return fmtBTC(sat);
  return h("span", {}, fmtBTC(sat), " · ", h("span", { class: "fiat", "data-testid": "member-fiat", title: _t("fiat.tip", { days: "…" }) }, fmtFiat(usd, "USD")));
}

export function showPlain(el, d, ctx) {
  // replaceChildren shows a null as the text "null": the parts a node lacks are left out, not nulled
  el.replaceChildren(...[h("h3", {}, d.label || d.kind), noteBlock(ctx.noteFor(d.id)),
    kv([[_t("col.kind"), d.kind], [_t("col.amount"), d.amount_sat !== undefined ? fmtBTC(d.amount_sat) : null]]),
    d.kind === "more" ? h("p", { class: "muted" }, _t("plain.more")) : null].filter(Boolean));
}
