// The timeline: every transaction on the canvas placed by block time (x) and amount (y, log scale).
// Transactions on a trace's paths are orange, mixing transactions purple. Drawn on a <canvas>, so the
// PNG export is exactly what is on screen.

import { RISK_COLORS, download, fmtBTC, fmtTime, h, short } from "./format.js";
import { t } from "./i18n.js";

export function drawTimeline(canvas, listEl, txs, onPick) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 560;
  const cssH = 300;
  canvas.width = cssW * dpr;
  canvas.height = cssH * dpr;
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = "#fff";
  g.fillRect(0, 0, cssW, cssH);
  const pts = txs.filter((t) => t.time).sort((a, b) => a.time - b.time);
  g.fillStyle = "#6b7480";
  g.font = "11px 'DejaVu Sans', sans-serif";
  if (!pts.length) {
    g.fillText(t("timeline.empty"), 16, 24);
    listEl.replaceChildren();
    return;
  }
  const L = 64, R = 16, T = 16, B = 36;
  const t0 = pts[0].time, t1 = Math.max(pts[pts.length - 1].time, t0 + 1);
  const amt = (t) => Math.max(1, t.amount_sat || 1);
  const a0 = Math.log10(Math.min(...pts.map(amt))), a1 = Math.max(Math.log10(Math.max(...pts.map(amt))), a0 + 1);
  const X = (t) => L + ((t - t0) / (t1 - t0)) * (cssW - L - R);
  const Y = (v) => cssH - B - ((Math.log10(v) - a0) / (a1 - a0)) * (cssH - T - B);
  g.strokeStyle = "#d9dde3";
  g.beginPath(); g.moveTo(L, T); g.lineTo(L, cssH - B); g.lineTo(cssW - R, cssH - B); g.stroke();
  g.fillText(fmtTime(t0).slice(0, 16), L, cssH - 14);
  const endLabel = fmtTime(t1).slice(0, 16);
  g.fillText(endLabel, cssW - R - g.measureText(endLabel).width, cssH - 14);
  g.save(); g.translate(12, cssH / 2 + 30); g.rotate(-Math.PI / 2); g.fillText(t("timeline.amount_log"), 0, 0); g.restore();
  for (const p of pts) {
    const x = X(p.time), y = Y(amt(p));
    g.beginPath();
    g.arc(x, y, 4 + Math.min(6, Math.max(0, Math.log10(amt(p)) - 6)), 0, 2 * Math.PI);
    g.fillStyle = p.mixing ? RISK_COLORS.mixer : p.onTrace ? "#e85d04" : "#475467";
    g.globalAlpha = 0.8; g.fill(); g.globalAlpha = 1;
  }
  listEl.replaceChildren(h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, t("col.time")), h("th", {}, t("timeline.height")), h("th", {}, "txid"), h("th", { class: "num" }, t("tx.outputs")))),
    h("tbody", {}, pts.map((p) => h("tr", { class: "clickable", onclick: () => onPick(p) },
      h("td", {}, fmtTime(p.time)), h("td", {}, String(p.height ?? "?")), h("td", { class: "mono" }, short(p.txid, 16)),
      h("td", { class: "num" }, fmtBTC(p.amount_sat)))))));
}

export function timelinePng(canvas) {
  canvas.toBlob((b) => b && download("timeline.png", b), "image/png");
}
