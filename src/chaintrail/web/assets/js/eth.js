// Ethereum on the canvas: accounts, contracts and tokens as nodes, value flows per asset as edges (amounts in
// the token's units, exact base units in the tooltip), swaps as conversion nodes, Tornado leads, bridge hops.
// Everything comes from /api/v1/eth (see api/routers/eth.py).

import * as api from "./api.js";
import { RISK_COLORS, NEUTRAL, fmtUnits, short } from "./format.js";
import { decimalSign, groupDigits, t as _t, tOr } from "./i18n.js";

export const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
export const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
export const ETH_COLORS = { account: NEUTRAL, contract: "#667085", token: "#d4a106", conversion: "#7c3aed",
                            chain: "#0e9384", tx: "#475467", bridge: "#0e9384" };

// asset (ETH | 0xTOKEN[#ID]) -> {symbol, decimals}, filled from every answer that names assets
const assets = new Map([["ETH", { symbol: "ETH", decimals: 18 }]]);

export function learnAsset(asset, symbol, decimals) {
  if (!asset) return;
  const old = assets.get(asset) || {};
  assets.set(asset, { symbol: symbol ?? old.symbol ?? null, decimals: decimals ?? old.decimals ?? null });
}

export function assetInfo(asset) {
  if (assets.has(asset)) return assets.get(asset);
  if (asset && asset.includes("#")) return { symbol: `${short(asset.split("#")[0], 10)} #${asset.split("#")[1]}`, decimals: 0 };
  return { symbol: short(asset || "?", 10), decimals: null };
}

export function symbolOf(asset) { return assetInfo(asset).symbol; }

// "1.5 USDX" (decimals applied); maxFrac cuts long fractions for labels.
export function amount(asset, base, maxFrac = null) {
  const a = assetInfo(asset);
  return fmtUnits(base, a.decimals, a.symbol, maxFrac);
}

export function exact(asset, base) {
  return _t("eth.exact", { n: groupDigits(BigInt(base).toString()), asset: asset === "ETH" ? "ETH (wei)" : asset });
}

// Colour of an account by its tags ("category:label" strings or tag objects).
export function tagColor(tags) {
  const cats = (tags || []).map((t) => (typeof t === "string" ? t.split(":")[0] : [t.category, t.kind, ...(t.risk_categories || [])].join(" ")))
    .join(" ").toLowerCase();
  if (/sanction/.test(cats)) return RISK_COLORS.sanctioned;
  if (/mix|tornado/.test(cats)) return RISK_COLORS.mixer;
  if (/hack|exploit|theft|scam|phish/.test(cats)) return RISK_COLORS.hack;
  if (/exchange|otc|p2p/.test(cats)) return RISK_COLORS.exchange;
  if (/bridge/.test(cats)) return ETH_COLORS.bridge;
  return null;
}

function tagLabel(tags) {
  const t = (tags || [])[0];
  if (!t) return null;
  return typeof t === "string" ? t.split(":").slice(1).join(":") || t : t.label;
}

function width(asset, base) {
  const a = assetInfo(asset);
  const units = Number(BigInt(base)) / 10 ** (a.decimals || 0);
  if (!(units > 0)) return 1;
  return Math.max(1.2, Math.min(12, 2 + Math.log10(units + 1) * 1.6));
}

// -- nodes -------------------------------------------------------------------------------------------
export function accountNode(a) {
  // a: an /eth/addresses answer, or a trace graph's account node
  const tags = a.tags || [];
  const token = a.token || null;
  const kind = token ? "eth_token" : a.is_contract ? "eth_contract" : "eth_account";
  if (token) learnAsset(a.address, token.symbol, token.decimals);
  const label = token ? _t("eth.token_label", { symbol: token.symbol || _t("legend.token") }) : tagLabel(tags) ||
    (a.deposit_of || a.deposit_address ? _t("eth.deposit_address") : short(a.address, 10));
  return { id: `x:${a.address}`, chain: "eth", kind, address: a.address, label, tags: tags.map((t) => (typeof t === "string" ? t : `${t.category || t.kind}:${t.label}`)),
           color: tagColor(tags) || ETH_COLORS[kind.slice(4)], is_contract: Boolean(a.is_contract), token,
           cluster: a.cluster ?? null, cluster_size: a.cluster_size ?? null,
           deposit_of: a.deposit_of || (a.deposit_address && a.deposit_address.hot_wallet) || null };
}

function conversionNode(c) {
  const inS = symbolOf(c.asset_in), outS = symbolOf(c.asset_out);
  return { id: c.id, chain: "eth", kind: "eth_conversion", color: ETH_COLORS.conversion, tx: c.tx,
           label: `${convName(c.conversion)}: ${inS} → ${outS}`, conversion: c, rate: unitRate(c) };
}

// A conversion's kind (swap, wrap, unwrap, bridge) in the reader's language.
export function convName(kind) {
  return tOr(`eth.conv.${kind || "swap"}`, kind || "swap");
}

// The executed rate in token units: "1 USDX = 0.000333 ETH" (from base-unit amounts and decimals).
export function unitRate(c) {
  const a = assetInfo(c.asset_in), b = assetInfo(c.asset_out);
  const x = Number(BigInt(c.amount_in)) / 10 ** (a.decimals || 0);
  const y = Number(BigInt(c.amount_out)) / 10 ** (b.decimals || 0);
  if (!(x > 0)) return "";
  return `1 ${a.symbol} = ${(y / x).toPrecision(6).replace(".", decimalSign())} ${b.symbol}`;
}

function display(n) {
  let s = n.label || "";
  if (n.kind === "eth_conversion") s += `\n${n.rate}`;
  for (const e of n.endpoints || []) {
    if (["tagged", "deposit_address"].includes(e.kind)) s += `\n${e.service || _t("eth.service")}: ${amount(e.asset, e.amount, 4)}`;
    if (e.kind === "bridged") s += `\n${_t("eth.bridged", { amount: amount(e.asset, e.amount, 4) })}`;
  }
  return s;
}

function finish(n) {
  n.display = display(n);
  return n;
}

const EDGE_WORDS = new Set(["mixer_out", "relayer_fee", "note", "below_threshold", "conversion_in", "conversion_out"]);

function edge(e, extra = {}) {
  const kind = e.kind;
  let text = amount(e.asset, e.amount, 4);
  if (kind === "lead") {
    const l = e.lead || {};
    text = _t("eth.lead_edge", { heuristic: heuristicName(l.heuristic), precision: pct(l.precision), chance: pct(l.chance_match_rate) });
  } else if (EDGE_WORDS.has(kind)) text = `${_t(`eth.edge.${kind}`)} ${text}`;
  else if (kind === "bridge") text = _t("eth.bridge_edge", { amount: text }) + (e.nonce !== undefined ? ` · nonce ${e.nonce}` : "");
  return { id: `xe:${e.source}>${e.target}:${e.asset}:${kind}${e.nonce !== undefined ? `:${e.nonce}` : ""}`, source: e.source, target: e.target, kind: "eth",
           flow: kind, asset: e.asset, amount: e.amount, txs: e.txs || [], n_txs: e.n_txs || (e.txs || []).length,
           lead: e.lead || null, evidence: e.evidence || null, display: text, width: kind === "lead" ? 1.5 : width(e.asset, e.amount),
           nonce: e.nonce ?? null, from_chain: e.from_chain_id ?? null, to_chain: e.to_chain_id ?? null,
           trace: Boolean(extra.trace) };
}

export function pct(x) {
  return x === null || x === undefined ? _t("eth.not_measured") : `${(100 * x).toFixed(x < 0.01 ? 2 : 1).replace(".", decimalSign())}%`;
}

// A Tornado lead heuristic's name in the reader's language (address_match, unique_gas_price, ...).
export function heuristicName(name) {
  return tOr(`eth.heuristic.${name}`, name);
}

// A value flow's kind (tx_value, internal, erc20, fee_tip, ...) in the reader's language.
export function flowKind(kind) {
  return tOr(`eth.flow.${kind}`, kind);
}

function nodeId(raw) {
  return raw.startsWith("0x") ? `x:${raw}` : raw;
}

// A trace's graph (graph=true) as a canvas fragment; roles mark the source and the services reached.
export function traceFragment(g) {
  for (const [a, m] of Object.entries(g.assets || {})) learnAsset(a, m.symbol, m.decimals);
  const nodes = g.nodes.map((n) => {
    if (n.kind === "conversion") return finish(conversionNode(n));
    if (n.kind === "chain") return finish({ id: n.id, chain: "eth", kind: "eth_chain", color: ETH_COLORS.chain,
                                            label: _t("eth.far_chain"), bridge: n.bridge });
    const a = accountNode(n);
    a.chain_id = n.chain_id ?? null;
    if (n.far) {          // the bridge's far chain: its own node (one address may be an account on both chains)
      a.id = n.id;
      a.far = true;
      a.label = `${_t("eth.chain_label", { chain: n.chain_id })} · ${a.label}`;
      if (!tagColor(n.tags)) a.color = ETH_COLORS.chain;
    }
    a.endpoints = n.endpoints || [];
    a.role = n.role === "endpoint" ? "endpoint" : n.role === "source" ? "source" : null;
    a.bridge = n.role === "bridge";
    return finish(a);
  });
  const edges = g.edges.map((e) => edge({ ...e, source: nodeId(e.source), target: nodeId(e.target) }, { trace: true }));
  return collapseEnds({ nodes, edges });
}

// Withdrawals whose taint ends at their recipient (no lead pairs them with a tainted deposit) and that lead
// nowhere else: four or more from one pool are drawn as one summary node (the endpoint table lists each).
function collapseEnds(frag) {
  const degree = new Map();
  for (const e of frag.edges) for (const n of [e.source, e.target]) degree.set(n, (degree.get(n) || 0) + 1);
  const groups = new Map();
  for (const e of frag.edges) {
    if (e.flow !== "mixer_out" || degree.get(e.target) !== 1) continue;
    const k = `${e.source}|${e.asset}`;
    groups.set(k, (groups.get(k) || []).concat([e]));
  }
  const drop = new Set(), gone = new Set();
  const nodes = [], edges = [];
  for (const [k, es] of groups) {
    if (es.length < 4) continue;
    const [pool, asset] = k.split("|");
    const id = `ends:${pool}:${asset}`;
    const total = es.reduce((a, e) => a + BigInt(e.amount), 0n).toString();
    es.forEach((e) => { drop.add(e.id); gone.add(e.target); });
    nodes.push(finish({ id, chain: "eth", kind: "eth_ends", asset, color: "#d0d5dd", label: _t("eth.other_withdrawals", { n: es.length }),
                        withdrawals: es.map((e) => ({ recipient: e.target.slice(2), amount: e.amount, txs: e.txs })) }));
    edges.push(edge({ source: pool, target: id, asset, kind: "mixer_out", amount: total, txs: es.flatMap((e) => e.txs).slice(0, 5),
                      n_txs: es.reduce((a, e) => a + e.n_txs, 0) }, { trace: true }));
  }
  return { nodes: frag.nodes.filter((n) => !gone.has(n.id)).concat(nodes), edges: frag.edges.filter((e) => !drop.has(e.id)).concat(edges) };
}

// An account known only by its address: drawn as such, and never overwriting what the canvas knows of it.
function bare(address) {
  return finish({ id: `x:${address}`, chain: "eth", kind: "eth_account", address, label: short(address, 10),
                  color: NEUTRAL, tags: [], bare: true });
}

// -- loading -----------------------------------------------------------------------------------------
export async function account(address) {
  const a = await api.get(`/eth/addresses/${address}`);
  for (const b of a.balances) learnAsset(b.asset, b.symbol, b.decimals);
  return a;
}

export async function accountFragment(address) {
  return { nodes: [finish(accountNode(await account(address)))], edges: [] };
}

// An account's value flows (a page), summed per counterparty, asset and direction; gas left out.
export async function expandFragment(address, offset, limit = 100) {
  const page = await api.get(`/eth/addresses/${address}/flows`, { offset, limit });
  const sums = new Map();
  for (const f of page.items) {
    learnAsset(f.asset, f.symbol, f.asset === "ETH" ? 18 : undefined);
    if (f.kind.startsWith("fee") || !f.from || !f.to || f.from === f.to) continue;
    const key = `${f.from}>${f.to}:${f.asset}`;
    const s = sums.get(key) || { source: f.from, target: f.to, asset: f.asset, kind: "flow", amount: 0n, txs: [], n_txs: 0 };
    s.amount += BigInt(f.amount);
    if (f.tx_hash && !s.txs.includes(f.tx_hash)) { s.n_txs++; if (s.txs.length < 5) s.txs.push(f.tx_hash); }
    sums.set(key, s);
  }
  const others = new Set();
  for (const s of sums.values()) others.add(s.source === address ? s.target : s.source);
  const nodes = [...others].map(bare);
  const edges = [...sums.values()].map((s) => edge({ ...s, amount: s.amount.toString(), source: `x:${s.source}`, target: `x:${s.target}` }));
  return { nodes, edges, total: page.total, next_offset: page.next_offset, shown: page.items.length };
}

// A transaction: its sender, every non-gas value flow between accounts, and its conversions.
export async function txFragment(hash) {
  const t = await api.get(`/eth/txs/${hash}`);
  for (const f of t.flows) learnAsset(f.asset, f.symbol, f.asset === "ETH" ? 18 : undefined);
  for (const c of t.conversions) { learnAsset(c.asset_in, c.symbol_in); learnAsset(c.asset_out, c.symbol_out); }
  const ids = new Set([t.from]);
  const edges = [];
  for (const f of t.flows) {
    if (f.kind.startsWith("fee") || !f.from || !f.to) continue;
    ids.add(f.from);
    ids.add(f.to);
    edges.push(edge({ source: `x:${f.from}`, target: `x:${f.to}`, asset: f.asset, kind: "flow", amount: f.amount,
                      txs: [t.hash], n_txs: 1 }));
  }
  const nodes = [...ids].map(bare);
  t.conversions.forEach((c, i) => {
    const id = `c:${t.hash}:${i}`;
    nodes.push(finish(conversionNode({ ...c, id, tx: t.hash, conversion: c.kind })));
    const to = c.recipient || c.trader;
    if (!ids.has(to)) { ids.add(to); nodes.push(bare(to)); }
    edges.push(edge({ source: `x:${c.trader}`, target: id, asset: c.asset_in, kind: "conversion_in", amount: c.amount_in, txs: [t.hash] }));
    edges.push(edge({ source: id, target: `x:${to}`, asset: c.asset_out, kind: "conversion_out", amount: c.amount_out, txs: [t.hash] }));
  });
  return { tx: t, fragment: { nodes, edges } };
}

// Labels, tags and contract/token kinds for bare account nodes (a page at a time, from /eth/addresses).
export async function enrich(addresses, update) {
  for (const a of addresses.slice(0, 60)) {
    try { update(finish(accountNode(await account(a)))); } catch (_) { /* left bare */ }
  }
}
