"""The report's print stylesheet (A4, running header and footer with the TLP marking and page numbers)."""

from __future__ import annotations

from chaintrail.cases import tlp


def stylesheet(level: str, case_ref: str, footer_note: str) -> str:
    colour = tlp.COLOUR[level]
    note = footer_note.replace('"', "'")
    return f"""
@page {{
  size: A4; margin: 22mm 17mm 20mm 17mm;
  @top-left {{ content: "Case {case_ref} · Forensic report on cryptocurrency funds"; font: 7.5pt 'Liberation Sans',
    'DejaVu Sans', sans-serif; color: #555; }}
  @top-right {{ content: element(tlptop); vertical-align: middle; }}
  @bottom-left {{ content: "{note}"; font: 6.5pt 'DejaVu Sans Mono', monospace; color: #666; }}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font: 7.5pt 'Liberation Sans',
    'DejaVu Sans', sans-serif; color: #555; }}
  @bottom-center {{ content: element(tlpbottom); vertical-align: middle; }}
}}
html {{ font-family: 'Liberation Serif', 'DejaVu Serif', serif; font-size: 10pt; line-height: 1.38; color: #111; }}
body {{ margin: 0; }}
h1, h2, h3, th, .label, .figures, .meta, table {{ font-family: 'Liberation Sans', 'DejaVu Sans', sans-serif; }}
h1 {{ font-size: 17pt; margin: 0 0 1mm 0; letter-spacing: 0.2pt; }}
h2 {{ font-size: 12.5pt; margin: 7mm 0 2mm 0; border-bottom: 1.2pt solid #1f3b5a; color: #1f3b5a;
      padding-bottom: 0.8mm; page-break-after: avoid; }}
h3 {{ font-size: 10.5pt; margin: 4.5mm 0 1.5mm 0; color: #1f3b5a; page-break-after: avoid; }}
p {{ margin: 0 0 2.4mm 0; text-align: justify; hyphens: auto; }}
.tlprun {{ font: bold 8pt 'Liberation Sans', sans-serif; color: {colour}; background: #000; padding: 1.2mm 2.5mm; }}
.tlptop {{ position: running(tlptop); text-align: right; }}
.tlpbottom {{ position: running(tlpbottom); text-align: center; }}
thead {{ display: table-header-group; }}
.tlpbar {{ background: #000; color: {colour}; font: bold 10pt 'Liberation Sans', sans-serif; padding: 1.6mm 3mm;
           display: inline-block; margin-bottom: 3mm; }}
.tlpnote {{ font-size: 8pt; color: #444; margin-top: 1mm; }}
.kicker {{ font: bold 8.5pt 'Liberation Sans', sans-serif; color: #8a1c12; letter-spacing: 1.2pt;
           text-transform: uppercase; margin-bottom: 1mm; }}
.meta {{ width: 100%; border-collapse: collapse; font-size: 8.5pt; margin: 3mm 0 2mm 0; }}
.meta td {{ padding: 0.8mm 2mm 0.8mm 0; vertical-align: top; border: none; }}
.meta td.k {{ color: #555; width: 32mm; }}
.titleblock {{ border-top: 2.5pt solid #1f3b5a; border-bottom: 0.8pt solid #1f3b5a; padding: 3mm 0 2mm 0;
               margin-bottom: 3mm; }}
.figures {{ width: 100%; border-collapse: collapse; margin: 2mm 0 3mm 0; font-size: 9pt; }}
.figures td {{ border-bottom: 0.4pt solid #ccc; padding: 1.1mm 2mm; }}
.figures td.n {{ text-align: right; font-family: 'DejaVu Sans Mono', monospace; font-size: 8.5pt; white-space: nowrap; }}
.figures tr.total td {{ border-top: 1pt solid #333; font-weight: bold; }}
table.data {{ width: 100%; border-collapse: collapse; font-size: 7.8pt; margin: 1.5mm 0 3mm 0; }}
table.data th {{ text-align: left; background: #e8edf3; border-bottom: 0.8pt solid #1f3b5a; padding: 1mm 1.4mm; }}
table.data td {{ border-bottom: 0.3pt solid #d0d0d0; padding: 0.9mm 1.4mm; vertical-align: top; }}
table.data td.n, table.data th.n {{ text-align: right; white-space: nowrap; }}
table.data tr {{ page-break-inside: avoid; }}
.mono, code {{ font-family: 'DejaVu Sans Mono', monospace; font-size: 7.2pt; word-break: break-all; }}
.hash {{ font-family: 'DejaVu Sans Mono', monospace; font-size: 7.6pt; word-break: break-all; }}
.box {{ border: 0.8pt solid #1f3b5a; background: #f4f7fa; padding: 2.5mm 3.5mm; margin: 2mm 0 3mm 0; }}
.warn {{ border-left: 3pt solid #b35c00; background: #fff6ec; padding: 2mm 3mm; margin: 2mm 0 3mm 0; font-size: 9pt; }}
.ok {{ color: #1b6e2a; font-weight: bold; }}
.bad {{ color: #b23b2e; font-weight: bold; }}
.figure {{ margin: 2mm 0 1mm 0; page-break-inside: avoid; }}
.caption {{ font-size: 8.2pt; color: #333; margin: 1mm 0 3mm 0; }}
.small {{ font-size: 8pt; color: #333; }}
ul, ol {{ margin: 0 0 2.5mm 0; padding-left: 5mm; }}
li {{ margin-bottom: 1mm; }}
.blocks {{ columns: 2; column-gap: 5mm; font-family: 'DejaVu Sans Mono', monospace; font-size: 5.9pt;
           line-height: 1.3; }}
.pill {{ font: bold 7pt 'Liberation Sans', sans-serif; padding: 0.2mm 1.2mm; border-radius: 1mm; color: #fff;
         background: #1f5fa8; }}
"""
