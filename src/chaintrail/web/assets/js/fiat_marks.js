// Fiat on the canvas: trace endpoints' values (USD and the reporting currency, at the UTC close of their day) put on
// the graph nodes they belong to, and the tooltip lines that show them beside the coin amounts.

import { fmtFiat, h } from "./format.js";
import { t } from "./i18n.js";

// A Bitcoin trace answer: each endpoint node of ``r.graph`` gets its endpoint's ``fiat`` (matched by address).
export function markBtcEndpoints(r) {
  const fiatOf = new Map((r.endpoints || []).filter((e) => e.fiat && e.address).map((e) => [e.address, e.fiat]));
  for (const n of (r.graph && r.graph.nodes) || []) {
    if (n.endpoint && fiatOf.has(n.address)) n.endpoint = { ...n.endpoint, fiat: fiatOf.get(n.address) };
  }
  return r;
}

// An Ethereum trace answer: each endpoint listed on a graph node gets the fiat of the endpoint with its address
// and asset (its asset's own series, at the close of the day of the last tx that paid it).
export function markEthEndpoints(r) {
  const key = (a, asset) => `${a}|${asset}`;
  const fiatOf = new Map((r.endpoints || []).filter((e) => e.fiat && e.address).map((e) => [key(e.address, e.asset), e.fiat]));
  for (const n of (r.graph && r.graph.nodes) || []) {
    for (const e of n.endpoints || []) {
      const f = fiatOf.get(key(n.address, e.asset));
      if (f) e.fiat = f;
    }
  }
  return r;
}

// "21,173.75 USD on 2021-05-08" (and the reporting currency beside it), or why there is no value.
export function fiatText(f) {
  if (!f) return null;
  if (f.usd === null || f.usd === undefined) return f.missing || t("fiat.no_price");
  const day = f.day || (f.days && f.days.length ? f.days.join(" – ") : "–");
  const other = Object.keys(f).find((k) => /^[a-z]{3}$/.test(k) && k !== "usd" && k !== "day");
  const value = fmtFiat(f.usd, "USD") + (other && f[other] !== null ? ` · ${fmtFiat(f[other], other.toUpperCase())}` : "");
  return t("fiat.value_on_day", { value, day });
}

// A tooltip line for a fiat figure, or null.
export function fiatLine(f) {
  const s = fiatText(f);
  return s ? h("div", { class: "fiat", "data-testid": "tip-fiat" }, s) : null;
}
