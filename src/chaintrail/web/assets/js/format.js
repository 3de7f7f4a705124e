// Formatting and safe DOM building: every value from the API is set as text, never parsed as HTML
// (tag labels come from imported files and must not be able to run script in the page).
// Amounts and dates follow the workbench language (i18n.js): en 1,234.50000000 BTC, uk 1 234,50000000 BTC.

import { decimalSign, fmtDateTime, groupDigits, t } from "./i18n.js";

export const RISK_COLORS = {
  sanctioned: "#c1121f", terrorism: "#780000", child_abuse: "#4a0404", ransomware: "#e85d04",
  darknet_market: "#9d4edd", hack: "#f48c06", scam: "#d4a106", mixer: "#6a0dad", gambling: "#2a9d8f",
  exchange: "#0077b6",
};
export const NEUTRAL = "#98a2b3";

export function riskColor(risk) {
  return (risk && risk.length && RISK_COLORS[risk[0]]) || NEUTRAL;
}

// Exact BTC from integer sats (no float rounding): "1,234.50000000 BTC" (en), "1 234,50000000 BTC" (uk).
export function fmtBTC(sat) {
  if (sat === null || sat === undefined) return "–";
  const neg = sat < 0;
  let s = String(Math.abs(Math.trunc(sat))).padStart(9, "0");
  const whole = groupDigits(s.slice(0, -8));
  return `${neg ? "-" : ""}${whole}${decimalSign()}${s.slice(-8)} BTC`;
}

export function fmtTime(t) {
  if (!t && t !== 0) return "–";
  return fmtDateTime(t);
}

export function short(s, n = 12) {
  if (!s) return "";
  return s.length <= n + 2 ? s : s.slice(0, n) + "…";
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function chip(text, color) {
  return h("span", { class: "chip", style: `--c:${color}` }, text);
}

// A risk category in the reader's language (unknown ones as they came, underscores as spaces).
export function riskName(r) {
  const v = t(`risk.${r}`);
  return v === `risk.${r}` ? r.replace(/_/g, " ") : v;
}

export function riskChips(risk) {
  return (risk || []).map((r) => chip(riskName(r), RISK_COLORS[r] || NEUTRAL));
}

export function kv(pairs) {
  const dl = h("dl", { class: "kv" });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(h("dt", {}, k), h("dd", {}, v === null ? "–" : v));
  }
  return dl;
}

export function download(name, blob) {
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// Text a spreadsheet would run as a formula (= + - @, tab, CR first) gets a leading apostrophe,
// as the server's CSV does (chaintrail/csv_export.py); numbers stay numbers.
export function csvCell(v) {
  let s = v === null || v === undefined ? "" : String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// Exact token amounts from integer base units (decimal strings; BigInt, no float rounding):
// fmtUnits("1500000", 6, "USDX") -> "1.5 USDX"; with maxFrac the fraction is cut (not rounded) and marked "…".
export function fmtUnits(amount, decimals, symbol, maxFrac = null) {
  if (amount === null || amount === undefined) return "–";
  const sym = symbol ? ` ${symbol}` : "";
  let v = BigInt(amount);
  const neg = v < 0n;
  if (neg) v = -v;
  const d = decimals === null || decimals === undefined ? 0 : decimals;
  const s = v.toString().padStart(d + 1, "0");
  const whole = groupDigits(s.slice(0, s.length - d));
  let frac = d ? s.slice(s.length - d).replace(/0+$/, "") : "";
  if (maxFrac !== null && frac.length > maxFrac) frac = frac.slice(0, maxFrac) + "…";
  const unit = decimals === null || decimals === undefined ? " " + (symbol ? t("units.base_of", { symbol }) : t("units.base")) : sym;
  return `${neg ? "-" : ""}${whole}${frac ? decimalSign() + frac : ""}${unit}`;
}

// Fiat from the API: whole cents (accounting schedules, integers) exactly, "12,345.67 USD" (en),
// "12 345,67 USD" (uk); "no price" where the day has none (never estimated).
export function fmtCents(cents, currency = "USD") {
  if (cents === null || cents === undefined) return t("fiat.no_price");
  const neg = cents < 0;
  const s = String(Math.abs(Math.trunc(cents))).padStart(3, "0");
  return `${neg ? "-" : ""}${groupDigits(s.slice(0, -2))}${decimalSign()}${s.slice(-2)} ${currency}`;
}

// A fiat value the API gives in units with two decimals (endpoint and summary values: 21173.75).
export function fmtFiat(x, currency = "USD") {
  if (x === null || x === undefined) return t("fiat.no_price");
  return fmtCents(Math.round(x * 100), currency);
}
