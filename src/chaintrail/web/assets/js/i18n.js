// The workbench's language: t(key, params) from a JSON catalog per language (assets/i18n/<lang>.json),
// static text marked in index.html (data-i18n, data-i18n-title, data-i18n-placeholder), and numbers,
// amounts and dates written per locale with Intl. The language is the picker's choice (localStorage),
// else ?lang=, else English. To add a language: docs/translating.md.

export const LANGUAGES = { en: "English", uk: "Українська" };
const STORE_KEY = "chaintrail.lang";
const state = { lang: "en", catalog: {}, fallback: {}, group: ",", decimal: "." };

export function lang() { return state.lang; }

function chosen() {
  const q = new URLSearchParams(location.search).get("lang");
  let saved = null;
  try { saved = localStorage.getItem(STORE_KEY); } catch (_e) { /* storage off: English */ }
  const want = q || saved || "en";
  return Object.hasOwn(LANGUAGES, want) ? want : "en";
}

async function load(code) {
  const r = await fetch(`/assets/i18n/${code}.json`, { cache: "no-cache" });
  if (!r.ok) throw new Error(`no catalog for ${code}`);
  return r.json();
}

// Load the catalogs and translate the page's static text; call once before anything is drawn.
export async function init(code = chosen()) {
  state.fallback = await load("en");
  state.lang = code;
  state.catalog = code === "en" ? state.fallback : await load(code).catch(() => state.fallback);
  const parts = new Intl.NumberFormat(locale()).formatToParts(1234567.5);
  state.group = (parts.find((p) => p.type === "group") || { value: "," }).value;
  state.decimal = (parts.find((p) => p.type === "decimal") || { value: "." }).value;
  document.documentElement.lang = code;
  applyStatic(document);
  return code;
}

// Remember a language and reload the page in it.
export function choose(code) {
  try { localStorage.setItem(STORE_KEY, code); } catch (_e) { /* storage off */ }
  const u = new URL(location.href);
  u.searchParams.delete("lang");
  location.replace(u.toString());
}

export function locale() { return state.lang === "en" ? "en-GB" : state.lang; }

// The text of `key` with {name} placeholders filled; a catalog entry that is an object holds plural forms
// (Intl.PluralRules categories: one, few, many, other) chosen by params.n. Numbers are formatted per locale.
export function t(key, params = {}) {
  let v = Object.hasOwn(state.catalog, key) ? state.catalog[key] : state.fallback[key];
  if (v === undefined) return key;
  if (typeof v === "object") {
    const cat = new Intl.PluralRules(locale()).select(Number(params.n ?? 0));
    v = v[cat] ?? v.other;
  }
  return v.replace(/\{(\w+)\}/g, (m, k) => {
    if (!Object.hasOwn(params, k)) return m;
    const x = params[k];
    return typeof x === "number" ? fmtNumber(x) : String(x);
  });
}

// A catalog text for a key built at run time (a kind, a category), else `fallback` (underscores as spaces).
export function tOr(key, fallback, params = {}) {
  const v = t(key, params);
  return v === key ? String(fallback ?? "").replace(/_/g, " ") : v;
}

export function applyStatic(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-label]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nLabel)); });
}

// Digits of a non-negative integer string grouped the locale's way.
export function groupDigits(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, state.group);
}

export function decimalSign() { return state.decimal; }

export function fmtNumber(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(n);
}

// A block time (seconds) in UTC: en "2026-12-07 12:03:04 UTC"; other languages their medium date and time.
export function fmtDateTime(seconds) {
  const d = new Date(seconds * 1000);
  if (state.lang === "en") return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" }).format(d) + " UTC";
}

// The picker: a <select> of the shipped languages that reloads the page in the one chosen.
export function picker(select) {
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => {
    const o = document.createElement("option");
    o.value = code;
    o.textContent = name;
    o.selected = code === state.lang;
    return o;
  }));
  select.addEventListener("change", () => choose(select.value));
}
