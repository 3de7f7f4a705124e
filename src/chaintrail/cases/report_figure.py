"""The fund-flow figure: an SVG that reads left to right, from the traced source to its endpoints.

Columns are hops. Each of the largest endpoints is drawn with the path of
transactions that led to it; edge widths are proportional to the amount that
flowed along them; endpoints are coloured by what they are (an attributed
service, unspent, stopped). Long paths are shortened to their first and last
transactions with a marked gap, so a 40-hop peel chain still fits a page.
"""

from __future__ import annotations

from html import escape

from chaintrail.i18n import N_, _, fmt_number, fmt_percent, ngettext

COIN = 100_000_000
KIND_COLOUR = {"tagged": "#1f5fa8", "unspent": "#6b6b6b", "below_threshold": "#a0a0a0", "coinbase": "#8a6d00",
               "unknown_source": "#8a6d00", "stopped_max_hops": "#b35c00", "stopped_time": "#b35c00",
               "stopped_mixer": "#7a1fa8"}
# Shown from inside f-strings, where Babel cannot see a _() call
IN_FSTRINGS = (N_("Source"), N_("Traced output"), N_("Transactions (hops →)"), N_("Transactions (hops ←)"),
               N_("Endpoints"), N_("Origins"), N_("Fund-flow figure"))
KIND_WORDS = {"tagged": N_("attributed service"), "unspent": N_("unspent"), "below_threshold": N_("below threshold"),
              "coinbase": N_("newly mined"), "unknown_source": N_("unknown source"),
              "stopped_max_hops": N_("hop limit reached"), "stopped_time": N_("outside time window"),
              "stopped_mixer": N_("entered mixer")}
_MAX_PATH = 6          # transactions drawn per path before the middle is collapsed


def btc(sat: int) -> str:
    """Exact BTC to the satoshi, grouped per the current language (en 1,234.50000000; uk 1 234,50000000)."""
    from chaintrail.i18n import fmt_btc

    return fmt_btc(int(sat), unit=False)


def short(s: str | None, n: int = 10) -> str:
    if not s:
        return "?"
    return s if len(s) <= 2 * n + 1 else f"{s[:n]}…{s[-4:]}"


def endpoint_name(e: dict) -> str:
    if e.get("tags"):
        return e["tags"][0].split(":", 1)[-1]
    return short(e.get("address") or (e.get("outputs") or ["?"])[0], 8)


def fund_flow_svg(trace: dict, *, max_endpoints: int = 10, width: int = 1000) -> str:
    """An inline SVG of a trace result (``TraceResult.to_dict()``)."""
    eps = [e for e in trace["endpoints"] if e["amount_sat"] > 0][:max_endpoints]
    rest = trace["endpoints"][max_endpoints:]
    traced = max(int(trace["totals"]["traced_sat"]), 1)
    forward = trace["params"]["direction"] == "forward"
    paths: list[list[str]] = []
    for i, e in enumerate(eps):
        p = list(e["path"]) or ["?"]
        if len(p) > _MAX_PATH:
            p = p[:2] + [f"gap:{i}:{len(p) - 4}"] + p[-2:]
        paths.append(p)
    ncols = max((len(p) for p in paths), default=1)
    # Nodes: column index -> ordered node keys (first seen, largest endpoint first).
    cols: list[list[str]] = [[] for _ in range(ncols)]
    col_of: dict[str, int] = {}
    for p in paths:
        for j, key in enumerate(p):
            if key not in col_of:
                col_of[key] = j
                cols[j].append(key)
    flow: dict[tuple[str, str], int] = {}
    for e, p in zip(eps, paths):
        chain = ["SOURCE", *p, f"END:{id(e)}"]
        for a, b in zip(chain, chain[1:]):
            flow[(a, b)] = flow.get((a, b), 0) + int(e["amount_sat"])
    rows = max([len(c) for c in cols] + [len(eps) + (1 if rest else 0), 1])
    row_h = 46
    height = 70 + rows * row_h
    left, right = 20, width - 275
    xs = [left + 190 + (right - left - 230) * (j + 0.5) / ncols for j in range(ncols)]
    pos: dict[str, tuple[float, float]] = {}
    for j, c in enumerate(cols):
        for k, key in enumerate(c):
            pos[key] = (xs[j], 50 + (k + 0.5) * (height - 70) / max(len(c), 1))
    pos["SOURCE"] = (left + 80, 50 + (height - 70) / 2)
    end_rows = len(eps) + (1 if rest else 0)
    for k, e in enumerate(eps):
        pos[f"END:{id(e)}"] = (right + 10, 50 + (k + 0.5) * (height - 70) / max(end_rows, 1))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
           f'font-family="DejaVu Sans, sans-serif" font-size="11" role="img" aria-label="{escape(_("Fund-flow figure"))}">',
           '<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>',
           f'<text x="{left}" y="22" font-size="12" font-weight="bold" fill="#222">'
           f'{escape(_("Source") if forward else _("Traced output"))}</text>',
           f'<text x="{xs[0] - 20 if xs else 300}" y="22" font-size="12" font-weight="bold" fill="#222">'
           f'{escape(_("Transactions (hops →)") if forward else _("Transactions (hops ←)"))}</text>',
           f'<text x="{right + 10}" y="22" font-size="12" font-weight="bold" fill="#222">'
           f'{escape(_("Endpoints") if forward else _("Origins"))}</text>']
    for (a, b), amt in sorted(flow.items(), key=lambda kv: -kv[1]):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        x1 += 70 if a == "SOURCE" else 6
        x2 -= 6 if not b.startswith("END:") else 0
        w = max(1.2, 26.0 * amt / traced)
        mx = (x1 + x2) / 2
        out.append(f'<path d="M{x1:.1f},{y1:.1f} C{mx:.1f},{y1:.1f} {mx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
                   f'stroke="#4f8fbf" stroke-opacity="0.45" stroke-width="{w:.1f}" fill="none"/>')
    sx, sy = pos["SOURCE"]
    src = trace["source"]
    src_name = src.get("address") or (f"{short(src.get('txid'), 8)}:{src['vout']}" if "vout" in src
                                      else _("entity {id}").format(id=src['cluster']) if src.get("kind") == "entity"
                                      else short(src.get("txid") or "outputs", 8))
    out += [f'<rect x="{sx - 75}" y="{sy - 24}" width="145" height="48" rx="5" fill="#fbe9e7" stroke="#b23b2e"/>',
            f'<text x="{sx - 68}" y="{sy - 7}" font-weight="bold" fill="#b23b2e">{escape(short(src_name, 8))}</text>',
            f'<text x="{sx - 68}" y="{sy + 11}" fill="#222">{btc(traced)} BTC</text>']
    for key, (x, y) in pos.items():
        if key == "SOURCE" or key.startswith("END:"):
            continue
        if key.startswith("gap:"):
            n = int(key.split(":")[2])
            txs = ngettext("… {n} tx …", "… {n} txs …", n).format(n=fmt_number(n))
            out.append(f'<text x="{x - 16}" y="{y + 4}" fill="#555" font-style="italic">{escape(txs)}</text>')
            continue
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#ffffff" stroke="#333" stroke-width="1.2"/>')
        out.append(f'<text x="{x - 24:.1f}" y="{y - 10:.1f}" font-size="8.5" font-family="DejaVu Sans Mono, monospace" '
                   f'fill="#444">{escape(key[:8])}</text>')
    for e in eps:
        x, y = pos[f"END:{id(e)}"]
        colour = KIND_COLOUR.get(e["kind"], "#444")
        share = 100.0 * e["amount_sat"] / traced
        out += [f'<rect x="{x}" y="{y - 19}" width="255" height="38" rx="4" fill="#ffffff" stroke="{colour}" '
                f'stroke-width="1.6"/>',
                f'<rect x="{x}" y="{y - 19}" width="6" height="38" fill="{colour}"/>',
                f'<text x="{x + 12}" y="{y - 4}" font-weight="bold" fill="{colour}">'
                f'{escape(endpoint_name(e)[:30])}</text>',
                f'<text x="{x + 12}" y="{y + 11}" font-size="10" fill="#222">{btc(e["amount_sat"])} BTC · {fmt_percent(f"{share:.1f}%")} · '
                f'{escape(_(KIND_WORDS[e["kind"]]) if e["kind"] in KIND_WORDS else e["kind"])}</text>']
    if rest:
        x = right + 10
        y = 50 + (end_rows - 0.5) * (height - 70) / max(end_rows, 1)
        total = sum(int(e["amount_sat"]) for e in rest)
        more = _("+ {n} smaller endpoints: {amount} BTC").format(n=fmt_number(len(rest)), amount=btc(total))
        out.append(f'<text x="{x + 12}" y="{y + 4}" fill="#555">{escape(more)}</text>')
    out.append("</svg>")
    return "\n".join(out)
