// A screening reason in the reader's language: the API's parts (template id and raw values, as in
// analysis/risk_words.py) written through the catalog (reason.<id>); a reason without parts keeps its English text.
// Values are formatted by their name, as the Python side does: amounts in sats, shares, categories, paths, tags.

import { fmtBTC, riskName } from "./format.js";
import { decimalSign, fmtNumber, groupDigits, t } from "./i18n.js";

const SATS = new Set(["amount", "direct"]);
const COUNTS = new Set(["min_sat", "n", "hops", "min_hops", "max_hops"]);

function percent(x, places) {
  const [whole, frac] = (x * 100).toFixed(places).split(".");
  return `${groupDigits(whole)}${frac ? decimalSign() + frac : ""}%`;
}

// A category as reasons name it (the Python side's taxonomy.TITLE), else its short name.
function category(c) {
  const v = t(`reason.category.${c}`);
  return v === `reason.category.${c}` ? riskName(c) : v;
}

function tagWords(v) {
  const bits = [v.actor, v.source ? t("reason.tag_source", { source: v.source }) : null,
    v.confidence ? t("reason.tag_confidence", { confidence: v.confidence }) : null, v.provenance].filter(Boolean);
  const where = v.address ? t("reason.tag_on", { address: v.address }) : "";
  const via = v.via === "cluster" ? t("reason.tag_via", { cluster: String(v.cluster) }) : "";
  const flag = v.conflict ? t("reason.tag_conflict") : "";
  return `'${v.label}' [${v.kind}]${where}${via}${flag} (${bits.join("; ")})`;
}

function value(name, v) {
  if (SATS.has(name)) return t("reason.sats", { btc: fmtBTC(v), sat: fmtNumber(v) });
  if (name === "share") return percent(v, 2);
  if (name === "min_share") return percent(v, 0);
  if (COUNTS.has(name)) return fmtNumber(v);
  if (name === "category") return category(v);
  if (name === "categories") return v.map(category).join(", ");
  if (name === "path") return v.join(" -> ");
  if (name === "tag") return tagWords(v);
  return String(v);
}

// The reason's text to show: its parts through the catalog, else the API's English text.
export function reasonText(reason) {
  const parts = reason.parts || [];
  if (!parts.length) return reason.text;
  const texts = parts.map((p) => {
    const vals = Object.fromEntries(Object.entries(p.values || {}).map(([k, v]) => [k, value(k, v)]));
    const key = `reason.${p.template}`;
    const text = t(key, vals);
    return text === key ? null : text;
  });
  return texts.includes(null) ? reason.text : texts.join("");   // a template this UI lacks: the English text
}
