"""The run's audit as one self-contained HTML page (``OUT/audit/report.html``).

``render_report(summary, manifest)`` turns ``audit/summary.json`` and ``manifest.json`` into a page a
compliance reviewer can read offline: no scripts, no fonts, no network. CSS is inline and pinned by
its sha256 in a strict Content-Security-Policy; charts are inline SVG drawn here. Every string that
comes from the data (host names, URLs, error texts, file names) is HTML-escaped.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["render_report", "render_images_report", "REASON_GROUPS", "CSP"]

# Which funnel step a primary reason belongs to, and its colour (Okabe-Ito, colour-blind safe).
REASON_GROUPS: dict[str, tuple[str, str]] = {
    "row": ("Unreadable or invalid URL", "#CC79A7"),
    "license": ("License not allowed", "#E69F00"),
    "reserved": ("AI training reserved (opt-out)", "#D55E00"),
    "evidence": ("Signals unreachable or missing", "#8C8C8C"),
    "kept": ("Kept", "#009E73"),
}
_GROUP_OF = {
    "url_invalid": "row",
    "license_missing": "license", "license_unrecognised": "license", "license_class_not_allowed": "license",
    "license_restricted": "license",
    "infringing_domain": "reserved", "name_optout": "reserved", "rsl_reserved": "reserved", "use_conditional": "reserved",
    "optout_list": "reserved", "registry_optout": "reserved", "robots_disallowed": "reserved",
    "tdmrep_reserved": "reserved", "content_usage_reserved": "reserved", "content_signal_reserved": "reserved",
    "aitxt_disallowed": "reserved", "x_robots_tag_reserved": "reserved",
    "source_unreachable": "evidence", "signals_missing": "evidence",
    "kept": "kept", "kept_license_over_optout": "kept", "kept_unreachable_ignored": "kept",
    # the images stage
    "image_missing": "row", "embedded_license_not_allowed": "license", "iptc_data_mining_reserved": "reserved",
    "tdmrep_xmp_reserved": "reserved", "content_credentials_reserved": "reserved",
    "image_metadata_unreadable": "evidence",
}
_SOURCE_NAMES = {
    "optout_list": "Local opt-out list", "registry": "Opt-out registry", "robots": "robots.txt (RFC 9309)",
    "tdmrep": "TDMRep (W3C)", "content_usage": "Content-Usage (IETF aipref)",
    "content_signal": "Content-Signal (Cloudflare)", "ai_txt": "ai.txt (Spawning)", "x_robots_tag": "X-Robots-Tag header",
    "infringing_list": "Infringing-domains list (EU CoP 1.2)", "name_optout": "Caption name opt-out list",
    "rsl": "RSL 1.0 license",
}
_CLASS_ORDER = ("public-domain", "permissive", "share-alike", "non-commercial", "no-derivatives", "restricted")
_FUNNEL_COLOUR = "#0072B2"
_MUTED = "#D9DEE5"
_NOT_KEPT = "#A9B4C2"
_TOP_VISIBLE = 15

_CSS = """
:root{color-scheme:light;--ink:#1b2430;--muted:#5b6675;--line:#d9dee5;--bg:#f5f7fa;--card:#fff;--ok:#0b7a4b;--bad:#b3261e}
*{box-sizing:border-box}
html{background:var(--bg)}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink)}
header.top{background:#1b2430;color:#fff;padding:22px 0 18px}
header.top .wrap{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 24px}
header.top h1{margin:0;font-size:22px;font-weight:650;letter-spacing:.2px}
header.top .meta{color:#c5cdd8;font-size:13px}
.wrap{max-width:1120px;margin:0 auto;padding:0 24px}
main.wrap{padding-top:18px;padding-bottom:40px}
nav.toc{font-size:13px;margin:0 0 14px;color:var(--muted)}
nav.toc a{color:#0b5cad;text-decoration:none;margin-right:14px;white-space:nowrap}
nav.toc a:hover{text-decoration:underline}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 22px;margin:0 0 18px}
h2{font-size:18px;margin:0 0 4px;font-weight:650}
h3{font-size:15px;margin:18px 0 6px;font-weight:650}
p.lead{margin:0 0 12px;color:var(--muted);font-size:14px}
p.note{margin:8px 0 0;color:var(--muted);font-size:13px}
.banner{border-radius:8px;padding:14px 18px;margin:0 0 18px;font-weight:600;border:1px solid}
.banner.ok{background:#e6f4ec;border-color:#9fd3b6;color:var(--ok)}
.banner.bad{background:#fdecea;border-color:#f1aaa4;color:var(--bad)}
.banner .detail{display:block;font-weight:400;color:var(--ink);font-size:14px;margin-top:2px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:0 0 14px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:#fbfcfd}
.card .k{font-size:12px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted)}
.card .v{font-size:26px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.25}
.card .s{font-size:13px;color:var(--muted)}
.card.kept .v{color:var(--ok)}
.card.bad .v{color:var(--bad)}
.story{margin:0 0 12px;font-size:15px}
table{border-collapse:collapse;width:100%;font-size:14px;margin:6px 0 4px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:baseline}
th{font-size:12px;text-transform:uppercase;letter-spacing:.5px;color:var(--muted);font-weight:600;background:#f8f9fb}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.doc{color:var(--muted);font-size:13px}
tr.total td{font-weight:650;border-top:2px solid var(--line)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12px;word-break:break-all}
.wrapcell{overflow-wrap:anywhere}
td.name{min-width:15em;overflow-wrap:anywhere}
.chip{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 8px;margin:2px 4px 2px 0;font-size:12.5px;background:#f8f9fb}
.chip.on{background:#e6f4ec;border-color:#9fd3b6}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:8px 28px}
@media (max-width:860px){.grid2{grid-template-columns:1fr}}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:6px 0;font-size:14px}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;word-break:break-word}
details{margin:6px 0}
details>summary{cursor:pointer;color:#0b5cad;font-size:14px}
svg.chart{display:block;width:100%;height:auto;margin:4px 0 6px}
svg.chart text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:13px;fill:#1b2430}
svg.chart text.lab{fill:#1b2430}
svg.chart text.val{fill:#5b6675;font-variant-numeric:tabular-nums}
svg.chart text.mut{fill:#5b6675;font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;color:var(--muted);margin:2px 0 6px}
.legend svg{vertical-align:-1px;margin-right:5px}
.empty{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12.5px;padding:0 0 30px}
@media print{html{background:#fff}section{break-inside:avoid;border:none;padding:0}header.top{background:#fff;color:#000}nav.toc{display:none}}
""".strip()

_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
#: The page's Content-Security-Policy: nothing may load or run; only the page's own stylesheet applies.
CSP = (f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; script-src 'none'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'")


# --- formatting -------------------------------------------------------------------------------------
class _Html(str):
    """A string that is already HTML (built here from escaped parts)."""


def _e(value: Any) -> str:
    if isinstance(value, _Html):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def _n(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)


def _pct(part: float, whole: float) -> str:
    if not whole:
        return "–"
    share = 100.0 * part / whole
    if 0 < share < 0.1:
        return "<0.1%"
    return f"{share:.1f}%"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _val(value: Any) -> str:
    """Any manifest value as escaped HTML text."""
    if value is None:
        return '<span class="empty">none</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return _e(_n(value))
    if isinstance(value, (list, tuple)):
        if not value:
            return '<span class="empty">none</span>'
        if all(isinstance(v, (str, int, float)) for v in value):
            return "".join(f'<span class="chip">{_e(v)}</span>' for v in value)
        return f'<code>{_e(json.dumps(value, default=str))}</code>'
    if isinstance(value, Mapping):
        return f'<code>{_e(json.dumps(value, default=str, sort_keys=True))}</code>'
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return f'<span class="hash">{_e(text)}</span>'
    return _e(text)


def _kv(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{v if isinstance(v, _Html) else _val(v)}</dd>" for k, v in pairs)
    return f'<dl class="kv">{rows}</dl>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
           classes: Mapping[int, str] | None = None, total: Sequence[Any] | None = None) -> str:
    numeric = set(numeric)
    classes = dict(classes or {})

    def cls(i: int) -> str:
        names = (["n"] if i in numeric else []) + ([classes[i]] if i in classes else [])
        return f' class="{" ".join(names)}"' if names else ""

    head = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        body.append("<tr>" + "".join(f"<td{cls(i)}>{_e(c)}</td>" for i, c in enumerate(row)) + "</tr>")
    if total is not None:
        body.append('<tr class="total">' + "".join(f'<td{cls(i) if i in numeric else ""}>{_e(c)}</td>'
                                                   for i, c in enumerate(total)) + "</tr>")
    if not body:
        return '<p class="empty">None.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _swatch(colour: str) -> str:
    return f'<svg width="11" height="11" aria-hidden="true"><rect width="11" height="11" rx="2" fill="{_e(colour)}"/></svg>'


def _legend(items: Iterable[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(f"<span>{_swatch(c)}{_e(label)}</span>" for label, c in items) + "</div>"


# --- charts (inline SVG) ------------------------------------------------------------------------------
def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bars(title: str, rows: Sequence[tuple[str, Sequence[tuple[float, str]], str]], *, scale: float | None = None,
          label_chars: int = 34, width: int = 1060) -> str:
    """Horizontal bar chart: rows of (label, [(value, colour), ...] stacked segments, text at the bar's end)."""
    if not rows:
        return '<p class="empty">Nothing to chart.</p>'
    label_w = min(360, 14 + 7.4 * max(len(_clip(r[0], label_chars)) for r in rows))
    value_w = 8 + 7.2 * max(len(r[2]) for r in rows)
    bar_w = max(120.0, width - label_w - value_w - 16)
    top = max((sum(v for v, _ in r[1]) for r in rows), default=0)
    scale = scale or top or 1
    row_h, bar_h, pad = 28, 18, 6
    height = pad * 2 + row_h * len(rows)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" role="img" '
           f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>']
    for i, (label, segments, end_text) in enumerate(rows):
        y = pad + i * row_h
        cy = y + row_h / 2
        out.append(f'<g><title>{_e(label)}: {_e(end_text)}</title>')
        out.append(f'<text class="lab" x="{label_w - 10:.1f}" y="{cy + 4.5:.1f}" text-anchor="end">'
                   f'{_e(_clip(label, label_chars))}</text>')
        out.append(f'<rect x="{label_w:.1f}" y="{y + (row_h - bar_h) / 2:.1f}" width="{bar_w:.1f}" height="{bar_h}" '
                   f'rx="3" fill="#f1f3f6"/>')
        x = label_w
        for value, colour in segments:
            w = bar_w * (value / scale) if scale else 0
            if value > 0:
                w = max(w, 2.0)
                out.append(f'<rect x="{x:.1f}" y="{y + (row_h - bar_h) / 2:.1f}" width="{w:.1f}" height="{bar_h}" '
                           f'rx="3" fill="{_e(colour)}"/>')
                x += w
        out.append(f'<text class="val" x="{x + 8:.1f}" y="{cy + 4.5:.1f}">{_e(end_text)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _stacked_strip(title: str, parts: Sequence[tuple[str, int, str]], total: int, width: int = 1060) -> str:
    """One full-width bar split into parts (label, rows, colour), labelled inside where there is room."""
    height = 46
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>']
    x = 0.0
    if total <= 0:
        out.append(f'<rect x="0" y="6" width="{width}" height="34" rx="4" fill="{_MUTED}"/>')
    for label, value, colour in parts:
        if value <= 0 or total <= 0:
            continue
        w = width * value / total
        out.append(f'<g><title>{_e(label)}: {_e(_n(value))} rows ({_e(_pct(value, total))})</title>'
                   f'<rect x="{x:.1f}" y="6" width="{max(w, 2):.1f}" height="34" fill="{_e(colour)}"/>')
        text = f"{_pct(value, total)}"
        if w > 7.5 * len(text) + 12:
            out.append(f'<text x="{x + w / 2:.1f}" y="28" text-anchor="middle" font-weight="600">'
                       f'{_e(text)}</text>')
        out.append("</g>")
        x += w
    out.append("</svg>")
    return "".join(out)


# --- sections -----------------------------------------------------------------------------------------
def _section(anchor: str, title: str, lead: str, body: str) -> str:
    lead_html = f'<p class="lead">{lead}</p>' if lead else ""
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{lead_html}{body}</section>'


def _split_top(rows: list, render) -> str:
    """Render the first rows, the rest behind a <details> (no scripts needed)."""
    if len(rows) <= _TOP_VISIBLE + 3:
        return render(rows)
    return (render(rows[:_TOP_VISIBLE]) + f"<details><summary>Show all {len(rows):,} rows</summary>"
            + render(rows) + "</details>")


def _group_totals(by_reason: Mapping[str, int]) -> dict[str, int]:
    totals = {g: 0 for g in REASON_GROUPS}
    for reason, count in by_reason.items():
        totals[_GROUP_OF.get(reason, "evidence")] += _int(count)
    return totals


def _snapshot_warnings(manifest: dict) -> str:
    """Red banners for a snapshot that misses >1% of candidate authorities or is older than its max-age."""
    warnings = (manifest.get("snapshot_health") or {}).get("warnings") or []
    return "".join(f'<div class="banner bad snapshot-warning">Snapshot warning<span class="detail">{_e(w)}</span></div>'
                   for w in warnings)


def _overview(summary: dict, manifest: dict) -> str:
    acct = summary.get("accounting", {})
    total = _int(acct.get("input_rows"))
    kept, rejected, errors = _int(acct.get("kept")), _int(acct.get("rejected")), _int(acct.get("errors"))
    ok = bool(acct.get("ok"))
    unknown = _int(acct.get("shards_with_unknown_rows"))
    equation = (f"kept {kept:,} + rejected {rejected:,} + errors {errors:,} = {kept + rejected + errors:,}"
                f" {'=' if kept + rejected + errors == total else '≠'} input rows {total:,}")
    if ok:
        banner = (f'<div class="banner ok" id="accounting">Accounting check passed: every input row is accounted for.'
                  f'<span class="detail">{_e(equation)}</span></div>')
    else:
        extra = f"; {unknown:,} shard(s) whose row count could not be read" if unknown else ""
        banner = (f'<div class="banner bad" id="accounting">Accounting check FAILED: rows are unaccounted for.'
                  f'<span class="detail">{_e(equation + extra)}</span></div>')
    banner += _snapshot_warnings(manifest)
    shards = len(manifest.get("inputs") or summary.get("by_shard") or [])
    cards = [
        ("Input rows", f"{total:,}", f"{shards:,} shard(s)", ""),
        ("Kept", f"{kept:,}", f"{_pct(kept, total)} of input", "kept"),
        ("Rejected", f"{rejected:,}", f"{_pct(rejected, total)} of input", ""),
        ("Read errors", f"{errors:,}", f"{_pct(errors, total)} of input", "bad" if errors else ""),
    ]
    cards_html = '<div class="cards">' + "".join(
        f'<div class="card {c}"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div><div class="s">{_e(s)}</div></div>'
        for k, v, s, c in cards) + "</div>"
    groups = _group_totals(summary.get("by_reason", {}))
    parts = []
    if errors:
        parts.append(("Read errors", errors, "#B3261E"))
    order = ("kept", "license", "reserved", "evidence", "row")
    parts += [(REASON_GROUPS[g][0], groups[g], REASON_GROUPS[g][1]) for g in order]
    story = [f"Of <b>{total:,}</b> input rows, <b>{kept:,}</b> ({_e(_pct(kept, total))}) were kept."]
    bits = []
    if groups["license"]:
        bits.append(f"{groups['license']:,} because of their license")
    if groups["reserved"]:
        bits.append(f"{groups['reserved']:,} because a machine-readable signal reserves AI training")
    if groups["evidence"]:
        bits.append(f"{groups['evidence']:,} because a signal source could not be checked (fails closed)")
    if groups["row"]:
        bits.append(f"{groups['row']:,} because the URL is invalid")
    if bits:
        story.append("Dropped: " + "; ".join(bits) + ".")
    if errors:
        story.append(f"{errors:,} rows could not be read.")
    strip = _stacked_strip("Where every input row went", [p for p in parts if p[1]], total)
    legend = _legend([(f"{label} ({value:,})", colour) for label, value, colour in parts if value])
    return (banner + cards_html + f'<p class="story">{" ".join(story)}</p>' + strip + legend)


# Which primary reasons explain the rows lost on the way into each funnel stage.
_STEP_GROUPS = {"license allowed": ("row", "license"), "not reserved": ("reserved",), "kept": ("evidence",)}


def _funnel(summary: dict) -> str:
    funnel = summary.get("funnel") or []
    if not funnel:
        return '<p class="empty">No funnel in this audit.</p>'
    top = _int(funnel[0].get("rows"))
    rows = [(str(s.get("stage", "")), [(_int(s.get("rows")), _FUNNEL_COLOUR if i < len(funnel) - 1 else REASON_GROUPS["kept"][1])],
             f"{_int(s.get('rows')):,}  ({_pct(_int(s.get('rows')), top)})") for i, s in enumerate(funnel)]
    chart = _bars("Funnel: rows remaining after each step", rows, scale=top or 1)
    by_reason = summary.get("by_reason", {})
    steps = []
    for i in range(1, len(funnel)):
        before, after = _int(funnel[i - 1].get("rows")), _int(funnel[i].get("rows"))
        lost = before - after
        stage = str(funnel[i].get("stage", ""))
        if stage == "readable":
            why = "rows in unreadable shards or row groups"
        else:
            groups = _STEP_GROUPS.get(stage, ())
            named = [(r, _int(c)) for r, c in by_reason.items() if _GROUP_OF.get(r) in groups and _int(c)]
            why = ", ".join(f"{r} {c:,}" for r, c in named) or "–"
        steps.append((f"{funnel[i - 1].get('stage')} → {stage}", f"{lost:,}", _pct(lost, before), why))
    table = _table(["step", "rows dropped", "of step input", "primary reasons"], steps, numeric=(1, 2),
                   classes={3: "doc"})
    return chart + table


def _reasons(summary: dict) -> str:
    by_reason = summary.get("by_reason", {})
    by_all = summary.get("by_reason_all", {})
    docs = summary.get("reason_docs", {})
    total = _int(summary.get("accounting", {}).get("input_rows"))
    keep = set(summary.get("keep_reasons") or ())
    drops = [(r, _int(c)) for r, c in by_reason.items() if r not in keep and _int(c)]
    drops.sort(key=lambda rc: -rc[1])
    chart_rows = [(r, [(c, REASON_GROUPS[_GROUP_OF.get(r, "evidence")][1])], f"{c:,}  ({_pct(c, total)})") for r, c in drops]
    chart = _bars("Rejected rows by primary reason", chart_rows)
    legend = _legend([(v[0], v[1]) for k, v in REASON_GROUPS.items() if k != "kept"])
    rows = [(r, f"{_int(by_reason.get(r)):,}", _pct(_int(by_reason.get(r)), total), f"{_int(by_all.get(r)):,}", docs.get(r, ""))
            for r in list(by_reason) + [r for r in by_all if r not in by_reason]]
    rows.sort(key=lambda row: (row[0] in keep, -_int(by_reason.get(row[0]))))
    table = _table(["reason", "rows (primary)", "of input", "rows (any reason)", "what it means"], rows,
                   numeric=(1, 2, 3), classes={0: "mono", 4: "doc"})
    return (legend + chart + table + '<p class="note">Each row has exactly one primary reason (the first by precedence: '
            'row, license, opt-out, then missing evidence) and may have several contributing reasons, so the '
            '"any reason" column adds up to more than the row count.</p>')


def _sources(summary: dict) -> str:
    by_source = summary.get("drops_by_source", {})
    by_token = summary.get("drops_by_token", {})
    colour = REASON_GROUPS["reserved"][1]
    src_rows = [(f"{_SOURCE_NAMES.get(s, s)}", [(_int(c), colour)], f"{_int(c):,}") for s, c in by_source.items()]
    out = ["<h3>Rows reserved, per signal source</h3>",
           _bars("Rows a source reserves", src_rows) if src_rows else '<p class="empty">No source reserved any row.</p>',
           _table(["source", "key", "rows it reserves"], [(_SOURCE_NAMES.get(s, s), s, f"{_int(c):,}") for s, c in by_source.items()],
                  numeric=(2,), classes={1: "mono"}) if by_source else "",
           '<p class="note">A row counts under every source that reserves it, so these add up to more than the '
           "rows dropped as reserved. Only sources the policy uses are counted.</p>",
           "<h3>Rows reserved, per AI-crawler product token</h3>"]
    tok = [(t, _int(c)) for t, c in by_token.items()]
    if tok:
        top = tok[:_TOP_VISIBLE]
        out.append(_bars("Rows reserved per product token", [(t, [(c, colour)], f"{c:,}") for t, c in top]))
        if len(tok) > len(top):
            out.append(f'<details><summary>Show all {len(tok):,} tokens</summary>'
                       + _table(["product token", "rows reserved for it"], [(t, f"{c:,}") for t, c in tok], numeric=(1,),
                                classes={0: "mono"}) + "</details>")
        out.append('<p class="note">A robots.txt group for <code>*</code> reserves every token the policy checks that has '
                   "no group of its own, which is why many tokens share one count.</p>")
    else:
        out.append('<p class="empty">No product token reserved any row.</p>')
    return "".join(out)


def _licenses(summary: dict) -> str:
    by_class = summary.get("by_license_class", {})
    kept_class = summary.get("kept_by_license_class", {})
    by_spdx = summary.get("by_spdx", {})
    kept_spdx = summary.get("kept_by_spdx", {})
    total = _int(summary.get("accounting", {}).get("input_rows"))
    kept_total = _int(summary.get("accounting", {}).get("kept"))
    green = REASON_GROUPS["kept"][1]
    rows = []
    for klass, count in by_class.items():
        k = _int(kept_class.get(klass))
        rows.append((klass, [(k, green), (_int(count) - k, _NOT_KEPT)], f"{_int(count):,} rows, {k:,} kept ({_pct(k, _int(count))})"))
    chart = _bars("Rows per license class (green: kept)", rows)
    legend = _legend([("kept", green), ("not kept", _NOT_KEPT)])
    class_table = _table(
        ["license class", "rows", "of input", "kept", "of class kept"],
        [(c, f"{_int(n):,}", _pct(_int(n), total), f"{_int(kept_class.get(c)):,}", _pct(_int(kept_class.get(c)), _int(n)))
         for c, n in by_class.items()],
        numeric=(1, 2, 3, 4), classes={0: "mono"},
        total=("all", f"{sum(map(_int, by_class.values())):,}", "", f"{sum(map(_int, kept_class.values())):,}", ""))

    def spdx_table(items):
        return _table(["SPDX id", "rows", "kept", "share of kept rows"],
                      [(s, f"{_int(n):,}", f"{_int(kept_spdx.get(s)):,}", _pct(_int(kept_spdx.get(s)), kept_total)) for s, n in items],
                      numeric=(1, 2, 3), classes={0: "mono"})

    spdx_items = list(by_spdx.items())
    source = summary.get("by_license_source", {})
    source_table = _table(["where the license came from", "rows"], [(k, f"{_int(v):,}") for k, v in source.items()], numeric=(1,))
    return (legend + chart + class_table + "<h3>SPDX identifiers</h3>" + _split_top(spdx_items, spdx_table)
            + '<p class="note"><code>LicenseRef-</code> ids name Creative Commons ports that have no SPDX id; '
            "<code>(none)</code> means no license could be read from the row.</p>"
            + "<h3>License evidence</h3>" + source_table
            + '<p class="note">LAION\'s LICENSE column is the last Creative Commons link seen before the image on its '
            "page, cut at 80 characters: page-level, weak evidence. A <code>Link: rel=\"license\"</code> header on the "
            "image itself takes precedence.</p>" + _item_licenses(summary))


def _item_licenses(summary: dict) -> str:
    """What the image's own license (Commons/Flickr API) did against the LICENSE column, per direction."""
    item = summary.get("item_license") or {}
    if not any(_int(v) for v in item.values()):
        return ""
    labels = [("added", "added: the column could not be kept, the image's own license can"),
              ("removed", "removed: the column could be kept, the image's own license cannot"),
              ("agreed", "agreed: both can be kept"), ("agreed_drop", "agreed: neither can be kept"),
              ("unreachable", "the API could not be read"), ("not_checked", "not checked (e.g. no Flickr API key)")]
    table = _table(["Commons / Flickr rows", "rows"], [(label, f"{_int(item.get(k)):,}") for k, label in labels],
                   numeric=(1,))
    return ("<h3>Item-level licenses (Wikimedia Commons, Flickr)</h3>" + table
            + '<p class="note">For rows on these hosts the image\'s own license, from its host\'s API, overrides the '
            "page-level LICENSE column (policy <code>license.sources</code>); both are in each row's evidence.</p>")


def _shards(summary: dict, manifest: dict) -> str:
    outputs = {o.get("input"): o for o in manifest.get("outputs") or []}
    errors_by = {i.get("path"): i.get("error") for i in manifest.get("inputs") or [] if i.get("error")}
    rows, tot = [], [0, 0, 0, 0]
    for s in summary.get("by_shard") or []:
        n, k, r, e = (_int(s.get(x)) for x in ("input_rows", "kept", "rejected", "errors"))
        tot = [tot[0] + n, tot[1] + k, tot[2] + r, tot[3] + e]
        out = outputs.get(s.get("shard"), {})
        kept_path = (out.get("kept") or {}).get("path", "")
        rows.append((s.get("shard", ""), f"{n:,}", f"{k:,}", _pct(k, n), f"{r:,}", f"{e:,}",
                     errors_by.get(s.get("shard")) or kept_path))
    return _table(["input shard", "rows", "kept", "kept %", "rejected", "errors", "kept output / error"], rows,
                  numeric=(1, 2, 3, 4, 5), classes={0: "mono wrapcell", 6: "mono wrapcell"},
                  total=("all shards", f"{tot[0]:,}", f"{tot[1]:,}", _pct(tot[1], tot[0]), f"{tot[2]:,}", f"{tot[3]:,}", ""))


def _hosts(summary: dict) -> str:
    def host_table(items, first="host", dropped="rows dropped"):
        return _table([first, dropped, "rows opted out", "opted out %"],
                      [(h.get("name", ""), f"{_int(h.get('dropped')):,}", f"{_int(h.get('opted_out')):,}",
                        _pct(_int(h.get("opted_out")), _int(h.get("dropped")))) for h in items],
                      numeric=(1, 2, 3), classes={0: "mono name"})

    by_opt = [h for h in summary.get("top_hosts_by_optout") or []]
    red = REASON_GROUPS["reserved"][1]
    chart_rows = [(str(h.get("name", "")), [(_int(h.get("opted_out")), red),
                                            (max(0, _int(h.get("dropped")) - _int(h.get("opted_out"))), _MUTED)],
                   f"{_int(h.get('opted_out')):,} opted out / {_int(h.get('dropped')):,} dropped")
                  for h in by_opt[:12] if _int(h.get("opted_out"))]
    out = ['<div class="legend">' + f"<span>{_swatch(red)}opted out</span><span>{_swatch(_MUTED)}dropped for other reasons</span></div>",
           _bars("Top hosts by opted-out rows", chart_rows, label_chars=40) if chart_rows
           else '<p class="empty">No host opted out.</p>']
    out.append("<h3>Top hosts by opt-out</h3>" + _split_top(by_opt, host_table))
    domains = summary.get("top_domains_by_optout") or []
    out.append("<h3>Top registered domains by opt-out</h3>"
               + '<p class="note">A domain\'s dropped rows count its hosts that have opt-outs (registered '
               'domains are resolved only for those hosts).</p>'
               + _split_top(domains, lambda x: host_table(x, "registered domain", "rows dropped on those hosts")))
    drops = summary.get("top_hosts_by_drops") or []
    out.append("<h3>Top hosts by dropped rows whose license was allowed</h3>"
               '<p class="note">Opt-outs, unreachable sources and missing evidence; rows dropped for their '
               'license are counted by reason and license class above.</p>' + _split_top(drops, host_table))
    return "".join(out)


def _unreachable(summary: dict) -> str:
    items = summary.get("unreachable_authorities") or []
    if not items:
        return '<p class="empty">Every signal source was reachable.</p>'

    def render(rows):
        return _table(["authority", "rows affected", "what failed"],
                      [(u.get("authority", ""), f"{_int(u.get('rows')):,}", u.get("detail", "")) for u in rows],
                      numeric=(1,), classes={0: "mono name", 2: "mono wrapcell"})

    total = sum(_int(u.get("rows")) for u in items)
    return (f'<p class="story">{len(items):,} authorities could not be checked; {total:,} rows depend on them.</p>'
            + _split_top(items, render))


def _errors(summary: dict, manifest: dict) -> str:
    errors = list(summary.get("errors") or [])
    if not errors:
        return '<p class="empty">No read errors: every shard and row group was readable.</p>'
    return "<ul>" + "".join(f'<li class="mono wrapcell">{_e(err)}</li>' for err in errors) + "</ul>"


def _provenance(summary: dict, manifest: dict) -> str:
    out = []
    policy = manifest.get("policy") or {}
    keep = set(policy.get("keep_classes") or ())
    classes = list(_CLASS_ORDER)
    class_chips = _Html("".join(f'<span class="chip{" on" if c in keep else ""}">{_e(c)}{" ✓" if c in keep else ""}</span>'
                                for c in classes + sorted(keep - set(classes))))
    used = set(policy.get("sources") or ())
    source_chips = _Html("".join(f'<span class="chip on">{_e(s)}</span>' for s in policy.get("sources") or []) or
                         '<span class="empty">none</span>')
    shown = {"id", "name", "sha256", "source", "keep_classes", "sources", "tokens"}
    pairs = [("policy id", policy.get("id") or summary.get("policy")), ("name", policy.get("name")),
             ("sha256", policy.get("sha256")), ("loaded from", policy.get("source")),
             ("keeps license classes", class_chips), ("signal sources checked", source_chips)]
    pairs += [(k.replace("_", " "), v) for k, v in policy.items() if k not in shown]
    pairs.append(("AI-crawler product tokens", policy.get("tokens")))
    out.append("<h3>Policy</h3>" + _kv(pairs))
    if used and not used >= set(_SOURCE_NAMES):
        out.append(f'<p class="note">Not checked by this policy: {_e(", ".join(s for s in _SOURCE_NAMES if s not in used))}.</p>')

    signals = manifest.get("signals")
    out.append("<h3>Signals snapshot</h3>")
    if not signals:
        out.append('<div class="banner bad">No signals snapshot was used: every row whose license passed was dropped '
                   "as signals_missing.</div>")
    else:
        scalar = [(k.replace("_", " "), v) for k, v in signals.items()
                  if k not in ("files", "counts", "inputs", "file", "sha256") and not isinstance(v, (dict, list))]
        if signals.get("file"):
            scalar.append(("latest file written", _Html(f'<span class="mono">{_e(signals["file"])}</span>')))
        if signals.get("sha256"):
            scalar.append(("latest file sha256", signals["sha256"]))
        out.append(_kv(scalar))
        files = signals.get("files") or []
        out.append(f"<h3>Snapshot files ({len(files):,})</h3>")
        out.append(_table(["file", "sha256"], [(f.get("file", ""), f.get("sha256", "")) for f in files],
                          classes={0: "mono", 1: "hash"}))
        counts = signals.get("counts") or {}
        if counts:
            outcomes = sorted({o for per in counts.values() for o in per}, key=lambda o: (o != "ok", o))
            rows = [[kind] + [f"{_int(per.get(o)):,}" if per.get(o) else "·" for o in outcomes]
                    + [f"{sum(map(_int, per.values())):,}"] for kind, per in counts.items()]
            out.append("<h3>Fetch records per kind and outcome</h3>")
            out.append(_table(["kind"] + outcomes + ["total"], rows, numeric=range(1, len(outcomes) + 2), classes={0: "mono"}))
        if signals.get("inputs"):
            out.append(f"<details><summary>Shards the crawl read ({len(signals['inputs']):,})</summary>"
                       + "<ul>" + "".join(f'<li class="mono">{_e(i)}</li>' for i in signals["inputs"]) + "</ul></details>")

    lists = [dict(o, kind=o.get("kind", "URLs and domains")) for o in manifest.get("optout_lists") or []]
    out.append("<h3>Opt-out lists</h3>")
    out.append(_table(["file", "kind", "version", "entries", "sha256"],
                      [(o.get("path", ""), o.get("kind", ""), o.get("version", ""), f"{_int(o.get('entries')):,}",
                        o.get("sha256", "")) for o in lists], numeric=(3,), classes={0: "mono wrapcell", 4: "hash"})
               if lists else '<p class="empty">No opt-out list was used.</p>')

    out.append("<h3>Run</h3>")
    opts = manifest.get("options") or {}
    run_pairs = [("tool", f"{manifest.get('tool', 'license-filter')} {manifest.get('version') or ''}".strip()),
                 ("audit written at", manifest.get("created_at"))]
    run_pairs += [(k.replace("_", " "), v) for k, v in opts.items()]
    cols = manifest.get("columns")
    if cols:
        run_pairs.append(("column mapping", _Html(", ".join(f"{_e(k)}: {_val(v)}" for k, v in cols.items()))))
    out.append(_kv(run_pairs))
    outputs = manifest.get("outputs") or []
    if outputs:
        rows = []
        for o in outputs:
            for kind in ("kept", "rejected", "attribution"):
                if isinstance(o.get(kind), dict):
                    rows.append((o.get("input", ""), kind, o[kind].get("path", ""), f"{_int(o[kind].get('rows')):,}"))
        out.append(f"<details><summary>Output files ({len(rows):,})</summary>"
                   + _table(["input", "kind", "file", "rows"], rows, numeric=(3,), classes={0: "mono wrapcell", 2: "mono wrapcell"})
                   + "</details>")
    return "".join(out)


# --- the page -----------------------------------------------------------------------------------------
_SECTIONS = (
    ("overview", "Overview"), ("funnel", "Funnel"), ("reasons", "Why rows were dropped"),
    ("sources", "Opt-out signals"), ("licenses", "Licenses"), ("shards", "Shards"), ("hosts", "Hosts"),
    ("unreachable", "Unreachable sources"), ("errors", "Errors"), ("provenance", "Policy and provenance"),
)


def render_report(summary: dict, manifest: dict) -> str:
    """The whole report page as one HTML string (UTF-8, no external resources)."""
    summary = summary or {}
    manifest = manifest or {}
    policy_id = (manifest.get("policy") or {}).get("id") or summary.get("policy") or "unknown policy"
    created = manifest.get("created_at") or ""
    signals = manifest.get("signals") or {}
    snap = f"snapshot {signals.get('created_at')}" if signals.get("created_at") else ("no snapshot" if not signals else "snapshot")
    bodies = {
        "overview": _section("overview", "Overview", "How the dataset shrank, at a glance.", _overview(summary, manifest)),
        "funnel": _section("funnel", "Funnel", "Rows left after each step: cheap in-row checks first, then the "
                           "machine-readable opt-out signals, then rows whose evidence could not be checked.", _funnel(summary)),
        "reasons": _section("reasons", "Why rows were dropped", "Every rejected row carries its primary reason, all "
                            "reasons and the evidence in <code>rejected/*.parquet</code>.", _reasons(summary)),
        "sources": _section("sources", "Opt-out signals", "Machine-readable reservations of AI training (EU DSM "
                            "Directive Art. 4(3)) found per source and per crawler token.", _sources(summary)),
        "licenses": _section("licenses", "Licenses", "License classes and SPDX ids of all rows and of the kept rows.",
                             _licenses(summary)),
        "shards": _section("shards", "Shards", "Per input shard.", _shards(summary, manifest)),
        "hosts": _section("hosts", "Hosts and domains", "Where the opt-outs come from.", _hosts(summary)),
        "unreachable": _section("unreachable", "Unreachable sources", "Authorities whose signal files could not be "
                                "fetched; their rows fail closed unless the policy says otherwise.", _unreachable(summary)),
        "errors": _section("errors", "Read errors", "", _errors(summary, manifest)),
        "provenance": _section("provenance", "Policy and provenance", "What this decision rests on: the policy, the "
                               "signals snapshot with its hashes and fetch times, the opt-out lists and the run options.",
                               _provenance(summary, manifest)),
    }
    toc = '<nav class="toc">' + "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in _SECTIONS) + "</nav>"
    title = f"license-filter audit report · {policy_id}"
    meta = f"policy {policy_id} · {snap} · audit written {created}"
    if manifest.get("run_id"):
        meta += f" · run {manifest['run_id']}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<header class="top"><div class="wrap"><h1>license-filter audit report</h1><span class="meta">{_e(meta)}</span>'
        "</div></header>"
        f'<main class="wrap">{toc}' + "".join(bodies[a] for a, _ in _SECTIONS) + "</main>"
        f'<footer class="wrap">Generated by license-filter {_e(manifest.get("version") or "")} from '
        "<code>audit/summary.json</code> and <code>manifest.json</code>. This page is self-contained: no scripts, "
        "no external resources, nothing is fetched when it is opened.</footer>"
        "</body></html>\n"
    )


# --- the images stage's page (license-filter images) ---------------------------------------------------
_IMAGE_SOURCE_NAMES = {
    "xmp_license": "Embedded licence (XMP cc:license, xmpRights)", "iptc": "IPTC/PLUS Data Mining (plus:DataMining)",
    "tdmrep_xmp": "TDMRep in XMP (tdm:reservation)", "c2pa": "C2PA / CAWG training-mining assertion",
    "copyright": "Copyright notices (EXIF, IPTC-IIM, dc:rights): evidence only",
}


def render_images_report(summary: dict, manifest: dict) -> str:
    """The images stage's audit page (same style and CSP as the filter's report)."""
    acct = summary.get("accounting", {})
    total = _int(acct.get("input_samples"))
    kept, rejected, errors = _int(acct.get("kept")), _int(acct.get("rejected")), _int(acct.get("errors"))
    ok = bool(acct.get("ok"))
    policy_id = (manifest.get("policy") or {}).get("id") or summary.get("policy") or "unknown policy"
    banner = (f'<div class="banner {"ok" if ok else "bad"}">Accounting {"OK" if ok else "FAILED"}: kept {kept:,} + '
              f"rejected {rejected:,} + errors {errors:,} {'=' if kept + rejected + errors == total else '≠'} "
              f"input samples {total:,}</div>")
    cards = ('<div class="cards">' + "".join(
        f'<div class="card {c}"><div class="k">{_e(k)}</div><div class="v">{v:,}</div><div class="s">{_pct(v, total)}</div></div>'
        for k, v, c in (("kept", kept, "kept"), ("rejected", rejected, "bad"), ("errors", errors, ""))) + "</div>")
    by_reason = summary.get("by_reason") or {}
    reasons = _bars("Samples per primary reason", [
        (r, [(_int(c), REASON_GROUPS[_GROUP_OF.get(r, "evidence")][1])], f"{_int(c):,}  ({_pct(_int(c), total)})")
        for r, c in by_reason.items()])
    docs = summary.get("reason_docs") or {}
    reason_table = _table(["reason", "samples", "meaning"], [(r, f"{_int(c):,}", docs.get(r, "")) for r, c in by_reason.items()],
                          numeric=[1], classes={2: "doc"})
    found_rows = []
    for src, values in (summary.get("signals_found") or {}).items():
        for value, count in values.items():
            found_rows.append((_IMAGE_SOURCE_NAMES.get(src, src), value, f"{_int(count):,}"))
    drops = summary.get("drops_by_source") or {}
    conflicts = summary.get("license_conflicts") or {}
    conflict_table = _table(["embedded licence vs LICENSE column", "samples"],
                            [(k, f"{_int(v):,}") for k, v in conflicts.items()], numeric=[1])
    lic = _table(["licence class (after embedded override)", "samples", "kept"],
                 [(k, f"{_int(v):,}", f"{_int((summary.get('kept_by_license_class') or {}).get(k)):,}")
                  for k, v in (summary.get("by_license_class") or {}).items()], numeric=[1, 2])
    carriers = _table(["licence taken from", "samples"], [(k, f"{_int(v):,}") for k, v in
                                                           (summary.get("by_license_carrier") or {}).items()], numeric=[1])
    shards = _table(["shard", "samples", "kept", "rejected", "errors", "error"],
                    [(s.get("shard"), f"{_int(s.get('samples')):,}", f"{_int(s.get('kept')):,}",
                      f"{_int(s.get('rejected')):,}", f"{_int(s.get('errors')):,}", s.get("error") or "")
                     for s in summary.get("by_shard") or []], numeric=[1, 2, 3, 4], classes={0: "name"})
    c2pa = manifest.get("c2pa") or {}
    prov = _kv([("policy", policy_id), ("policy sha256", (manifest.get("policy") or {}).get("sha256")),
                ("layout", manifest.get("layout")), ("C2PA reader", c2pa.get("library")),
                ("remote manifest fetching", c2pa.get("remote_manifest_fetch")),
                ("C2PA trust anchors", c2pa.get("trust_anchors")),
                ("C2PA validation states", summary.get("c2pa_validation") or {}),
                ("options", manifest.get("options")), ("created", manifest.get("created_at"))])
    body = "".join([
        _section("overview", "Overview", "Samples of the img2dataset output checked for rights stated inside the "
                 "image files themselves.", banner + cards),
        _section("reasons", "Why samples were dropped", "Every sample's decision, reasons and evidence are in "
                 "<code>audit/samples/*.parquet</code>; <code>license-filter images --explain KEY --output OUT</code> "
                 "prints one.", reasons + reason_table),
        _section("signals", "Embedded signals found", "Each value found in the files, counted per sample (a sample "
                 "can carry several).", _table(["source", "value", "samples"], found_rows, numeric=[2])
                 + "<h3>Rejected samples per reserving source (any reason)</h3>"
                 + _table(["source", "samples"], [(_IMAGE_SOURCE_NAMES.get(k, k), f"{_int(v):,}") for k, v in drops.items()],
                          numeric=[1])),
        _section("licences", "Licences", "An embedded licence overrides the row's LICENSE column; disagreements are "
                 "counted by direction.", conflict_table + lic + carriers),
        _section("shards", "Shards", "Per input shard.", shards),
        _section("errors", "Read errors", "", _table(["error"], [(e,) for e in summary.get("errors") or []])),
        _section("provenance", "Policy and provenance", "", prov),
    ])
    title = f"license-filter images audit · {policy_id}"
    meta = f"policy {policy_id} · audit written {manifest.get('created_at') or ''}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<header class="top"><div class="wrap"><h1>license-filter images audit</h1><span class="meta">'
        f'{_e(meta)}</span></div></header>'
        f'<main class="wrap">{body}</main>'
        f'<footer class="wrap">Generated by license-filter {_e(manifest.get("version") or "")} from '
        "<code>audit/summary.json</code> and <code>manifest.json</code>; self-contained, nothing is fetched.</footer>"
        "</body></html>\n"
    )
