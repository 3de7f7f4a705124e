// The fund-flow canvas: cytoscape with a left-to-right layered (dagre) layout, so money reads from
// sources on the left to destinations on the right. Edge width follows the amount (log scale), node
// colour the most severe risk category of its tags.

import { RISK_COLORS, NEUTRAL, riskColor, riskName, fmtBTC, fmtTime, short, h } from "./format.js";
import { fiatLine, fiatText } from "./fiat_marks.js";
import { t, tOr } from "./i18n.js";

let cy = null;
const LABEL_MIN_PX = 7;       // on-screen font size below which labels are not drawn
const listeners = { select: [], unselect: [] };

function edgeWidth(sat) {
  if (!sat || sat <= 0) return 1;
  const w = 1 + (Math.log10(sat) - 4) * 1.6;      // 0.0001 BTC -> 1px ... 1000 BTC -> ~14px
  return Math.max(1, Math.min(16, w));
}

function nodeSize(n) {
  if (n.kind === "tx") return 18;
  if (n.kind === "more" || n.kind === "output" || n.kind === "coinbase") return 22;
  const sat = n.amount_sat || n.received_sat || 0;
  return Math.max(26, Math.min(60, 26 + (sat > 0 ? Math.log10(sat) - 5 : 0) * 5));
}

function style() {
  return [
    { selector: "node", style: {
      "label": "data(display)", "font-size": 9, "text-valign": "bottom", "text-margin-y": 3, "color": "#1d232b",
      "text-wrap": "wrap", "text-max-width": 140, "background-color": "data(color)", "width": "data(size)",
      "height": "data(size)", "border-width": 1, "border-color": "#ffffff" } },
    { selector: "node[kind='tx']", style: { "shape": "round-rectangle", "background-color": "#475467", "width": 20,
      "height": 14, "font-size": 8, "color": "#475467" } },
    { selector: "node[kind='tx'][?mixing]", style: { "background-color": RISK_COLORS.mixer, "shape": "star", "width": 22, "height": 22 } },
    { selector: "node[kind='entity']", style: { "shape": "hexagon" } },
    { selector: "node[kind='coinbase']", style: { "shape": "diamond", "background-color": "#d4a106" } },
    { selector: "node[kind='more']", style: { "shape": "tag", "background-color": "#d0d5dd", "color": "#475467" } },
    { selector: "node[kind='output']", style: { "shape": "rectangle", "background-color": "#d0d5dd" } },
    { selector: "node[kind='eth_contract']", style: { "shape": "round-rectangle" } },
    { selector: "node[kind='eth_token']", style: { "shape": "diamond" } },
    { selector: "node[kind='eth_conversion']", style: { "shape": "round-diamond", "width": 34, "height": 34,
      "font-weight": "bold", "color": "#5b21b6" } },
    { selector: "node[kind='eth_chain']", style: { "shape": "rhomboid", "border-width": 2, "border-style": "dashed",
      "border-color": "#0e9384", "width": 40, "height": 26 } },
    { selector: "node[kind='eth_ends']", style: { "shape": "tag", "color": "#475467" } },
    { selector: "node[?large_entity]", style: { "border-width": 3, "border-style": "double", "border-color": "#475467" } },
    { selector: "node.endpoint", style: { "border-width": 4, "border-color": "#101828", "font-weight": "bold", "font-size": 10 } },
    { selector: "node.source", style: { "border-width": 4, "border-color": "#12b76a", "font-weight": "bold" } },
    { selector: "node.noted", style: { "outline-width": 2, "outline-color": "#f0c000", "outline-offset": 2 } },
    { selector: "node:selected", style: { "overlay-color": "#0b5cad", "overlay-opacity": 0.18, "overlay-padding": 6 } },
    // Level of detail: a label smaller than LABEL_MIN_PX on screen is not drawn (a fitted 20-hop trace would be
    // a grey smear); the source and endpoints keep theirs, hovering or zooming in shows the rest.
    { selector: "node, edge", style: { "min-zoomed-font-size": LABEL_MIN_PX } },
    { selector: "node.endpoint, node.source", style: { "min-zoomed-font-size": 0 } },
    { selector: ".hover", style: { "min-zoomed-font-size": 0, "z-index": 20 } },
    // The trace path: flow edges and the nodes they join stand out, the rest of the canvas steps back;
    // with a node selected, the trail from the source to it.
    { selector: ".off-trace", style: { "opacity": 0.25 } },
    { selector: "edge.path", style: { "z-index": 10 } },
    { selector: ".trail", style: { "min-zoomed-font-size": 0, "font-weight": "bold" } },
    { selector: "edge.trail", style: { "line-color": "#c2410c", "target-arrow-color": "#c2410c", "z-index": 11 } },
    { selector: "edge", style: {
      "width": "data(width)", "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 0.8,
      "line-color": "#98a2b3", "target-arrow-color": "#98a2b3", "opacity": 0.85 } },
    { selector: "edge[kind='flow']", style: { "line-color": "#e85d04", "target-arrow-color": "#e85d04", "label": "data(display)",
      "font-size": 8, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
    { selector: "edge[kind='eth']", style: { "line-color": "#e85d04", "target-arrow-color": "#e85d04", "label": "data(display)",
      "font-size": 8, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
    { selector: "edge[kind='eth'][!trace]", style: { "line-color": "#98a2b3", "target-arrow-color": "#98a2b3" } },
    { selector: "edge[flow='conversion_in'], edge[flow='conversion_out']", style: { "line-color": "#7c3aed", "target-arrow-color": "#7c3aed" } },
    { selector: "edge[flow='mixer_out'], edge[flow='relayer_fee'], edge[flow='note'], edge[flow='below_threshold']", style: {
      "line-style": "dotted", "line-color": "#6a0dad", "target-arrow-color": "#6a0dad", "color": "#6a0dad" } },
    { selector: "edge[flow='lead']", style: { "line-style": "dashed", "line-color": "#b54708", "target-arrow-color": "#b54708",
      "target-arrow-shape": "vee", "color": "#b54708", "curve-style": "unbundled-bezier" } },
    { selector: "edge[flow='bridge']", style: { "line-style": "dashed", "line-color": "#0e9384", "target-arrow-color": "#0e9384", "color": "#0e9384" } },
    { selector: "edge[kind='member']", style: { "line-style": "dashed", "target-arrow-shape": "none", "width": 1 } },
  ];
}

export function initGraph(container, tooltip) {
  if (!window.cytoscape) throw new Error("cytoscape is not loaded (front end not built: run scripts/setup.sh)");
  if (window.cytoscapeDagre) window.cytoscape.use(window.cytoscapeDagre);
  cy = window.cytoscape({ container, style: style(), minZoom: 0.05, maxZoom: 4,
                          selectionType: "single", boxSelectionEnabled: false });
  cy.on("select", "node", (ev) => listeners.select.forEach((f) => f(ev.target.data())));
  cy.on("unselect", "node", () => listeners.unselect.forEach((f) => f()));
  cy.on("mouseover", "node", (ev) => { hoverLabels(ev.target, true); showTooltip(tooltip, ev.target, ev.renderedPosition); });
  cy.on("mouseout", "node", (ev) => { hoverLabels(ev.target, false); tooltip.hidden = true; });
  cy.on("select", "node", (ev) => markPath(ev.target));
  cy.on("unselect", "node", () => markPath(null));
  cy.on("zoom", countLabels);
  cy.on("mouseover", "edge[kind='eth']", (ev) => showEdgeTooltip(tooltip, ev.target, ev.renderedPosition));
  cy.on("mouseout", "edge", () => { tooltip.hidden = true; });
  cy.on("pan zoom", () => { tooltip.hidden = true; });
  return cy;
}

export function onSelect(f) { listeners.select.push(f); }
export function onUnselect(f) { listeners.unselect.push(f); }
export function getCy() { return cy; }

function display(n) {
  if (n.chain === "eth") return n.display || n.label || "";
  if (n.kind === "tx") return n.label || short(n.txid, 8);
  let s = n.label || "";
  if (n.endpoint && n.endpoint.amount_sat) s += `\n${fmtBTC(n.endpoint.amount_sat)}`;
  if (n.kind === "entity" || (n.cluster_size && n.cluster_size > 1 && n.kind === "address")) {
    if (n.kind === "entity") s += `\n${t("graph.n_addresses", { n: n.cluster_size || 0 })}`;
  }
  return s;
}

function colorOf(n) {
  if (n.chain === "eth") return n.color || NEUTRAL;
  return n.kind === "tx" ? "#475467" : riskColor(n.risk);
}

function toElement(n) {
  const data = { ...n, color: colorOf(n), size: n.chain === "eth" ? 30 : nodeSize(n) };
  data.display = display(data);
  return { group: "nodes", data };
}

// Merge a fragment from the API into the canvas; returns the ids of nodes that were new.
export function addFragment(frag, { roles = false } = {}) {
  const added = [];
  cy.batch(() => {
    for (const n of frag.nodes) {
      const old = cy.getElementById(n.id);
      if (old.nonempty() && n.bare) continue;       // an address only: keep what the canvas knows of it
      if (old.nonempty()) {
        const merged = { ...old.data(), ...Object.fromEntries(Object.entries(n).filter(([, v]) => v !== null)) };
        merged.display = display(merged);
        merged.color = colorOf(merged);
        old.data(merged);
      } else {
        cy.add(toElement(n));
        added.push(n.id);
      }
      const el = cy.getElementById(n.id);
      if (roles && n.role === "endpoint") el.addClass("endpoint");
      if (roles && n.role === "source") el.addClass("source");
    }
    for (const e of frag.edges) {
      if (cy.getElementById(e.source).empty() || cy.getElementById(e.target).empty()) continue;
      const id = e.kind === "flow" ? `flow:${e.id}` : e.id;
      const old = cy.getElementById(id);
      const data = e.kind === "eth" ? { ...e, id } :
        { ...e, id, width: edgeWidth(e.amount_sat), display: e.kind === "flow" ? fmtBTC(e.amount_sat) : "" };
      if (old.nonempty()) old.data(data); else cy.add({ group: "edges", data });
    }
  });
  countNodes();
  if (roles) markPath(cy.nodes(":selected").first());
  return added;
}

// Node and edge counts on the container, for scripts and tests that read the page without running code in it.
export function countNodes() {
  cy.container().dataset.nodes = String(cy.nodes().length);
  cy.container().dataset.edges = String(cy.edges().length);
  cy.container().dataset.endpoints = String(cy.nodes(".endpoint").length);
  cy.container().dataset.conversions = String(cy.nodes("[kind='eth_conversion']").length);
  cy.container().dataset.leads = String(cy.edges("[flow='lead']").length);
  cy.container().dataset.bridges = String(cy.edges("[flow='bridge']").length);
}

// A hovered node's label and its edges' labels, at a readable size whatever the zoom.
function hoverLabels(node, on) {
  const els = node.union(node.connectedEdges());
  if (on) els.addClass("hover").style("font-size", Math.max(9, 11 / cy.zoom()));
  else els.removeClass("hover").removeStyle("font-size");
}

// Labels drawn at this zoom, on the container for tests (as countNodes).
function countLabels() {
  const z = cy.zoom();
  const drawn = cy.nodes().filter((n) => n.pstyle("font-size").pfValue * z >= n.pstyle("min-zoomed-font-size").pfValue);
  cy.container().dataset.zoom = z.toFixed(3);
  cy.container().dataset.labels = String(drawn.length);
}

// The trail of flow edges from the trace's source to ``node`` (all of it where the node is on no trail).
function markPath(node) {
  cy.elements().removeClass("path trail off-trace");
  const flows = cy.edges("[kind='flow']");
  let path = cy.collection();
  if (flows.nonempty()) {
    const trail = Boolean(node && node.connectedEdges("[kind='flow']").nonempty());
    if (trail) {
      path = node;
      let frontier = node;
      while (frontier.nonempty()) {
        const inc = frontier.incomers("edge[kind='flow']").difference(path);
        frontier = inc.sources().difference(path);
        path = path.union(inc).union(frontier);
      }
    } else {
      path = flows.union(flows.connectedNodes());
    }
    path.addClass(trail ? "path trail" : "path");
    cy.elements().difference(path).addClass("off-trace");
  }
  cy.container().dataset.path = String(path.edges().length);
  cy.container().dataset.pathSource = String(path.nodes(".source").length);
}

export function clearTraceMarks() {
  cy.elements().removeClass("endpoint source path trail off-trace");
  cy.edges("[kind='flow'], [?trace]").remove();
  cy.nodes().forEach((n) => {
    if (n.data("endpoint")) { n.data("endpoint", null); n.data("display", display(n.data())); }
    if (n.data("chain") === "eth" && n.data("endpoints")) n.data("endpoints", null);
  });
}

export function layout(focusIds) {
  const opts = { name: window.cytoscapeDagre ? "dagre" : "breadthfirst", rankDir: "LR", nodeSep: 18, rankSep: 90,
                 edgeSep: 8, animate: false, fit: true, padding: 30 };
  cy.layout(opts).run();
  if (cy.zoom() > 1.4) {           // a few nodes: keep them at reading size rather than filling the screen
    cy.zoom(1.4);
    cy.center();
  }
  if (focusIds && focusIds.length > 0 && cy.nodes().length > 40) {
    cy.fit(cy.collection(focusIds.map((id) => cy.getElementById(id))).closedNeighborhood(), 60);
  }
  countLabels();
}

export function selectNode(id) {
  const n = cy.getElementById(id);
  if (n.empty()) return null;
  cy.nodes().unselect();
  n.select();
  return n.data();
}

export function selected() {
  const s = cy.nodes(":selected");
  return s.nonempty() ? s[0].data() : null;
}

export function markNoted(id, on) {
  const n = cy.getElementById(id);
  if (n.nonempty()) (on ? n.addClass("noted") : n.removeClass("noted"));
}

export function txNodes() {
  return cy.nodes("[kind='tx']").map((n) => n.data());
}

export function png() {
  return cy.png({ full: true, scale: 2, bg: "#ffffff", output: "blob" });
}

function showTooltip(tip, node, pos) {
  const d = node.data();
  tip.replaceChildren();
  if (d.chain === "eth") {
    if (!tooltipExtra) return;
    tip.append(...tooltipExtra(d));
    tip.style.left = `${pos.x + 16}px`;
    tip.style.top = `${pos.y + 40}px`;
    tip.hidden = false;
    return;
  }
  const lines = [h("div", {}, h("b", {}, tOr(d.kind === "tx" ? "kind.transaction" : `kind.${d.kind}`, d.kind)), " ", d.label || "")];
  if (d.address) lines.push(h("div", { class: "mono" }, d.address));
  if (d.txid) lines.push(h("div", { class: "mono" }, d.txid));
  if (d.kind === "tx") {
    lines.push(h("div", {}, t("tip.tx_line", { time: fmtTime(d.time), height: String(d.height ?? "?"), inputs: d.n_inputs, outputs: d.n_outputs })));
    lines.push(h("div", {}, t("tip.outputs", { amount: fmtBTC(d.amount_sat) }) +
      (d.fee_sat !== null && d.fee_sat !== undefined ? ` · ${t("tip.fee", { amount: fmtBTC(d.fee_sat) })}` : "")));
    if (d.pattern) lines.push(h("div", {}, t("tip.pattern", { pattern: d.pattern }) + (d.mixing ? ` ${t("tip.mixing")}` : "")));
  } else if (d.kind === "address" || d.kind === "entity") {
    lines.push(h("div", {}, t("tip.received_sent", { received: fmtBTC(d.received_sat), sent: fmtBTC(d.sent_sat) })));
    if (d.fiat && d.fiat.received && d.fiat.sent) {
      const v = (f) => fiatText(f) || "–";
      lines.push(h("div", { class: "fiat", "data-testid": "tip-fiat" }, t("tip.received_sent_fiat", { received: v(d.fiat.received), sent: v(d.fiat.sent) })));
    }
    if (d.cluster_size > 1 || d.kind === "entity") lines.push(h("div", {}, t(d.large_entity ? "tip.entity_large" : "tip.entity", { id: String(d.cluster), n: d.cluster_size || 0 })));
  } else if (d.amount_sat) {
    lines.push(h("div", {}, fmtBTC(d.amount_sat)));
  }
  if (d.tags && d.tags.length) lines.push(h("div", {}, t("tip.tags", { tags: d.tags.join(", ") })));
  if (d.endpoint) {
    lines.push(h("div", {}, h("b", {}, t("tip.endpoint", { kind: tOr(`endpoint.${d.endpoint.kind}`, d.endpoint.kind),
      amount: fmtBTC(d.endpoint.amount_sat), n: d.endpoint.hops }))));
    if (d.endpoint.fiat) lines.push(fiatLine(d.endpoint.fiat));
  }
  if (d.note) lines.push(h("div", {}, t("tip.note", { note: short(d.note, 120) })));
  tip.append(...lines);
  tip.style.left = `${pos.x + 16}px`;
  tip.style.top = `${pos.y + 40}px`;
  tip.hidden = false;
}

export function setTooltipExtra(f) { tooltipExtra = f; }
let tooltipExtra = null;

function showEdgeTooltip(tip, edge, pos) {
  if (!tooltipExtra) return;
  tip.replaceChildren(...tooltipExtra(edge.data()));
  tip.style.left = `${pos.x + 16}px`;
  tip.style.top = `${pos.y + 40}px`;
  tip.hidden = false;
}

export function legend(el, extra = []) {
  el.replaceChildren(...Object.entries(RISK_COLORS).map(([k, c]) => h("span", { style: `--c:${c}` }, riskName(k))),
    h("span", { style: `--c:${NEUTRAL}` }, t("legend.untagged")), h("span", { style: "--c:#475467" }, t("kind.transaction")),
    ...extra.map(([k, c]) => h("span", { style: `--c:${c}` }, k)));
}
