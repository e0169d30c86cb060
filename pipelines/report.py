"""The run's audit as one self-contained HTML page (``OUT/audit/report.html``).

``render_report(summary, manifest)`` turns ``audit/summary.json`` and ``manifest.json`` into a page a
compliance reviewer can read offline: no scripts, no fonts, no network. The markup lives in Jinja2
templates shipped with the package (``pipelines/templates/``) with autoescaping on, so every string
that comes from the data (host names, URLs, error texts, file names) is escaped by the template
engine. This module only builds view models: plain numbers and strings, tables, and the geometry of
the inline SVG charts. CSS (``templates/report.css``) is inline and pinned by its sha256 in a strict
Content-Security-Policy.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from transforms.fileio import join, read_bytes, write_bytes_atomic

__all__ = ["CSP", "REASON_GROUPS", "REASON_GROUP_OF", "render_images_report", "render_report", "template_environment", "write_report"]

# Which funnel step a primary reason belongs to, and its colour (Okabe-Ito, colour-blind safe).
REASON_GROUPS: dict[str, tuple[str, str]] = {
    "row": ("Unreadable or invalid URL", "#CC79A7"),
    "license": ("License not allowed", "#E69F00"),
    "reserved": ("AI training reserved (opt-out)", "#D55E00"),
    "evidence": ("Signals unreachable or missing", "#8C8C8C"),
    "kept": ("Kept", "#009E73"),
}
#: Every reason of the closed set has its group (a test checks it); only a foreign summary key falls back to "evidence".
REASON_GROUP_OF = {
    "url_invalid": "row",
    "license_missing": "license", "license_unrecognised": "license", "license_class_not_allowed": "license",
    "license_restricted": "license", "item_license_nonfree": "license", "item_license_unknown": "license",
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
_IMAGE_SOURCE_NAMES = {
    "xmp_license": "Embedded licence (XMP cc:license, xmpRights)", "iptc": "IPTC/PLUS Data Mining (plus:DataMining)",
    "tdmrep_xmp": "TDMRep in XMP (tdm:reservation)", "c2pa": "C2PA / CAWG training-mining assertion",
    "copyright": "Copyright notices (EXIF, IPTC-IIM, dc:rights): evidence only",
}
_CLASS_ORDER = ("public-domain", "permissive", "share-alike", "non-commercial", "no-derivatives", "restricted")
_FUNNEL_COLOUR = "#0072B2"
_MUTED = "#D9DEE5"
_NOT_KEPT = "#A9B4C2"
_TOP_VISIBLE = 15

_CSS = resources.files(__package__ or "pipelines").joinpath("templates", "report.css").read_text(encoding="utf-8").strip()
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
#: The page's Content-Security-Policy: nothing may load or run; only the page's own stylesheet applies.
CSP = (f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; script-src 'none'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'")


@functools.lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The Jinja2 environment of the audit pages: the package's templates, autoescaping always on."""
    return jinja2.Environment(loader=jinja2.PackageLoader(__package__ or "pipelines", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def _render(template: str, **context: Any) -> str:
    return template_environment().get_template(template).render(css=Markup(_CSS), csp=CSP, **context)


# --- formatting -------------------------------------------------------------------------------------
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


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _cell(value: Any) -> dict:
    """How the template shows any manifest value: ``kind`` none, text, chips, code or hash."""
    if value is None:
        return {"kind": "none"}
    if isinstance(value, (bool, int, float)):
        return {"kind": "text", "text": _n(value)}
    if isinstance(value, (list, tuple)):
        if not value:
            return {"kind": "none"}
        if all(isinstance(v, (str, int, float)) for v in value):
            return {"kind": "chips", "items": [str(v) for v in value]}
        return {"kind": "code", "text": json.dumps(value, default=str)}
    if isinstance(value, Mapping):
        return {"kind": "code", "text": json.dumps(value, default=str, sort_keys=True)}
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return {"kind": "hash", "text": text}
    return {"kind": "text", "text": text}


class _View(dict):
    """A value this module already shaped for the template (chips, a file name), not data to classify."""


def _kv(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, dict]]:
    """Key-value rows, each value as :func:`_cell` shows it unless it is already a :class:`_View`."""
    return [(k, v if isinstance(v, _View) else _cell(v)) for k, v in pairs]


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
           classes: Mapping[int, str] | None = None, total: Sequence[Any] | None = None) -> dict | None:
    """A table view: headers, rows and the optional total row as (text, css class) cells; None when empty."""
    numeric = set(numeric)
    classes = dict(classes or {})

    def cls(i: int) -> str:
        return " ".join((["n"] if i in numeric else []) + ([classes[i]] if i in classes else []))

    body = [[(_text(c), cls(i)) for i, c in enumerate(row)] for row in rows]
    foot = [(_text(c), cls(i) if i in numeric else "") for i, c in enumerate(total)] if total is not None else None
    if not body and foot is None:
        return None
    return {"headers": [(h, cls(i)) for i, h in enumerate(headers)], "rows": body, "total": foot}


def _split_top(rows: list, render: Callable[[list], dict | None]) -> dict:
    """The first rows, and all of them behind a <details> when there are many (no scripts needed)."""
    if len(rows) <= _TOP_VISIBLE + 3:
        return {"first": render(rows), "all": None, "count": f"{len(rows):,}"}
    return {"first": render(rows[:_TOP_VISIBLE]), "all": render(rows), "count": f"{len(rows):,}"}


# --- charts (inline SVG geometry) -------------------------------------------------------------------------
def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bars(title: str, rows: Sequence[tuple[str, Sequence[tuple[float, str]], str]], *, scale: float | None = None,
          label_chars: int = 34, width: int = 1060) -> dict | None:
    """Horizontal bar chart: rows of (label, [(value, colour), ...] stacked segments, text at the bar's end)."""
    if not rows:
        return None
    label_w = min(360, 14 + 7.4 * max(len(_clip(r[0], label_chars)) for r in rows))
    value_w = 8 + 7.2 * max(len(r[2]) for r in rows)
    bar_w = max(120.0, width - label_w - value_w - 16)
    top = max((sum(v for v, _ in r[1]) for r in rows), default=0)
    scale = scale or top or 1
    row_h, bar_h, pad = 28, 18, 6
    bars = []
    for i, (label, segments, end_text) in enumerate(rows):
        y = pad + i * row_h
        cy = y + row_h / 2
        bar_y = f"{y + (row_h - bar_h) / 2:.1f}"
        x = label_w
        segs = []
        for value, colour in segments:
            w = bar_w * (value / scale) if scale else 0
            if value > 0:
                w = max(w, 2.0)
                segs.append({"x": f"{x:.1f}", "w": f"{w:.1f}", "colour": colour})
                x += w
        bars.append({"label": label, "shown": _clip(label, label_chars), "end": end_text, "label_x": f"{label_w - 10:.1f}",
                     "text_y": f"{cy + 4.5:.1f}", "y": bar_y, "segments": segs, "end_x": f"{x + 8:.1f}"})
    return {"title": title, "width": width, "height": pad * 2 + row_h * len(rows), "bar_x": f"{label_w:.1f}",
            "bar_w": f"{bar_w:.1f}", "bar_h": bar_h, "rows": bars}


def _stacked_strip(title: str, parts: Sequence[tuple[str, int, str]], total: int, width: int = 1060) -> dict:
    """One full-width bar split into parts (label, rows, colour), labelled inside where there is room."""
    x = 0.0
    segs = []
    for label, value, colour in parts:
        if value <= 0 or total <= 0:
            continue
        w = width * value / total
        text = f"{_pct(value, total)}"
        segs.append({"tip": f"{label}: {_n(value)} rows ({_pct(value, total)})", "x": f"{x:.1f}", "w": f"{max(w, 2):.1f}",
                     "colour": colour, "text": text if w > 7.5 * len(text) + 12 else None, "text_x": f"{x + w / 2:.1f}"})
        x += w
    return {"title": title, "width": width, "height": 46, "empty": total <= 0, "muted": _MUTED, "segments": segs}


# --- the filter's page: one view per section ---------------------------------------------------------------
def _group_totals(by_reason: Mapping[str, int]) -> dict[str, int]:
    totals = {g: 0 for g in REASON_GROUPS}
    for reason, count in by_reason.items():
        totals[REASON_GROUP_OF.get(reason, "evidence")] += _int(count)
    return totals


def _overview(summary: dict, manifest: dict) -> dict:
    acct = summary.get("accounting", {})
    total = _int(acct.get("input_rows"))
    kept, rejected, errors = _int(acct.get("kept")), _int(acct.get("rejected")), _int(acct.get("errors"))
    unknown = _int(acct.get("shards_with_unknown_rows"))
    equation = (f"kept {kept:,} + rejected {rejected:,} + errors {errors:,} = {kept + rejected + errors:,}"
                f" {'=' if kept + rejected + errors == total else '≠'} input rows {total:,}")
    ok = bool(acct.get("ok"))
    if not ok and unknown:
        equation += f"; {unknown:,} shard(s) whose row count could not be read"
    shards = len(manifest.get("inputs") or summary.get("by_shard") or [])
    cards = [
        ("Input rows", f"{total:,}", f"{shards:,} shard(s)", ""),
        ("Kept", f"{kept:,}", f"{_pct(kept, total)} of input", "kept"),
        ("Rejected", f"{rejected:,}", f"{_pct(rejected, total)} of input", ""),
        ("Read errors", f"{errors:,}", f"{_pct(errors, total)} of input", "bad" if errors else ""),
    ]
    groups = _group_totals(summary.get("by_reason", {}))
    parts = [("Read errors", errors, "#B3261E")] if errors else []
    parts += [(REASON_GROUPS[g][0], groups[g], REASON_GROUPS[g][1]) for g in ("kept", "license", "reserved", "evidence", "row")]
    bits = []
    if groups["license"]:
        bits.append(f"{groups['license']:,} because of their license")
    if groups["reserved"]:
        bits.append(f"{groups['reserved']:,} because a machine-readable signal reserves AI training")
    if groups["evidence"]:
        bits.append(f"{groups['evidence']:,} because a signal source could not be checked (fails closed)")
    if groups["row"]:
        bits.append(f"{groups['row']:,} because the URL is invalid")
    return {
        "ok": ok, "equation": equation,
        "warnings": (manifest.get("snapshot_health") or {}).get("warnings") or [],
        "cards": cards, "total": f"{total:,}", "kept": f"{kept:,}", "kept_pct": _pct(kept, total),
        "dropped": "; ".join(bits), "errors": f"{errors:,}" if errors else None,
        "strip": _stacked_strip("Where every input row went", [p for p in parts if p[1]], total),
        "legend": [(f"{label} ({value:,})", colour) for label, value, colour in parts if value],
    }


# Which primary reasons explain the rows lost on the way into each funnel stage.
_STEP_GROUPS = {"license allowed": ("row", "license"), "not reserved": ("reserved",), "kept": ("evidence",)}


def _funnel(summary: dict) -> dict | None:
    funnel = summary.get("funnel") or []
    if not funnel:
        return None
    top = _int(funnel[0].get("rows"))
    rows = [(str(s.get("stage", "")), [(_int(s.get("rows")), _FUNNEL_COLOUR if i < len(funnel) - 1 else REASON_GROUPS["kept"][1])],
             f"{_int(s.get('rows')):,}  ({_pct(_int(s.get('rows')), top)})") for i, s in enumerate(funnel)]
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
            named = [(r, _int(c)) for r, c in by_reason.items() if REASON_GROUP_OF.get(r) in groups and _int(c)]
            why = ", ".join(f"{r} {c:,}" for r, c in named) or "–"
        steps.append((f"{funnel[i - 1].get('stage')} → {stage}", f"{lost:,}", _pct(lost, before), why))
    return {"chart": _bars("Funnel: rows remaining after each step", rows, scale=top or 1),
            "table": _table(["step", "rows dropped", "of step input", "primary reasons"], steps, numeric=(1, 2),
                            classes={3: "doc"})}


def _reasons(summary: dict) -> dict:
    by_reason = summary.get("by_reason", {})
    by_all = summary.get("by_reason_all", {})
    docs = summary.get("reason_docs", {})
    total = _int(summary.get("accounting", {}).get("input_rows"))
    keep = set(summary.get("keep_reasons") or ())
    drops = [(r, _int(c)) for r, c in by_reason.items() if r not in keep and _int(c)]
    drops.sort(key=lambda rc: -rc[1])
    chart_rows = [(r, [(c, REASON_GROUPS[REASON_GROUP_OF.get(r, "evidence")][1])], f"{c:,}  ({_pct(c, total)})") for r, c in drops]
    rows = [(r, f"{_int(by_reason.get(r)):,}", _pct(_int(by_reason.get(r)), total), f"{_int(by_all.get(r)):,}", docs.get(r, ""))
            for r in list(by_reason) + [r for r in by_all if r not in by_reason]]
    rows.sort(key=lambda row: (row[0] in keep, -_int(by_reason.get(row[0]))))
    return {"legend": [(v[0], v[1]) for k, v in REASON_GROUPS.items() if k != "kept"],
            "chart": _bars("Rejected rows by primary reason", chart_rows),
            "table": _table(["reason", "rows (primary)", "of input", "rows (any reason)", "what it means"], rows,
                            numeric=(1, 2, 3), classes={0: "mono", 4: "doc"})}


def _sources(summary: dict) -> dict:
    by_source = summary.get("drops_by_source", {})
    tok = [(t, _int(c)) for t, c in summary.get("drops_by_token", {}).items()]
    colour = REASON_GROUPS["reserved"][1]
    top = tok[:_TOP_VISIBLE]
    return {
        "chart": _bars("Rows a source reserves", [(f"{_SOURCE_NAMES.get(s, s)}", [(_int(c), colour)], f"{_int(c):,}")
                                                 for s, c in by_source.items()]),
        "table": _table(["source", "key", "rows it reserves"], [(_SOURCE_NAMES.get(s, s), s, f"{_int(c):,}")
                                                                for s, c in by_source.items()],
                        numeric=(2,), classes={1: "mono"}) if by_source else None,
        "any_token": bool(tok),
        "token_chart": _bars("Rows reserved per product token", [(t, [(c, colour)], f"{c:,}") for t, c in top]) if tok else None,
        "token_count": len(tok),
        "token_table": _table(["product token", "rows reserved for it"], [(t, f"{c:,}") for t, c in tok], numeric=(1,),
                              classes={0: "mono"}) if len(tok) > len(top) else None,
    }


def _licenses(summary: dict) -> dict:
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

    def spdx_table(items):
        return _table(["SPDX id", "rows", "kept", "share of kept rows"],
                      [(s, f"{_int(n):,}", f"{_int(kept_spdx.get(s)):,}", _pct(_int(kept_spdx.get(s)), kept_total)) for s, n in items],
                      numeric=(1, 2, 3), classes={0: "mono"})

    source = summary.get("by_license_source", {})
    return {
        "legend": [("kept", green), ("not kept", _NOT_KEPT)],
        "chart": _bars("Rows per license class (green: kept)", rows),
        "classes": _table(
            ["license class", "rows", "of input", "kept", "of class kept"],
            [(c, f"{_int(n):,}", _pct(_int(n), total), f"{_int(kept_class.get(c)):,}", _pct(_int(kept_class.get(c)), _int(n)))
             for c, n in by_class.items()],
            numeric=(1, 2, 3, 4), classes={0: "mono"},
            total=("all", f"{sum(map(_int, by_class.values())):,}", "", f"{sum(map(_int, kept_class.values())):,}", "")),
        "spdx": _split_top(list(by_spdx.items()), spdx_table),
        "sources": _table(["where the license came from", "rows"], [(k, f"{_int(v):,}") for k, v in source.items()], numeric=(1,)),
        "items": _item_licenses(summary),
    }


def _item_licenses(summary: dict) -> dict | None:
    """What the image's own license (Commons/Flickr API) did against the LICENSE column, per direction."""
    item = summary.get("item_license") or {}
    if not any(_int(v) for v in item.values()):
        return None
    labels = [("added", "added: the column could not be kept, the image's own license can"),
              ("removed", "removed: the column could be kept, the image's own license cannot"),
              ("agreed", "agreed: both can be kept"), ("agreed_drop", "agreed: neither can be kept"),
              ("unreachable", "the API could not be read"), ("not_checked", "not checked (e.g. no Flickr API key)")]
    return _table(["Commons / Flickr rows", "rows"], [(label, f"{_int(item.get(k)):,}") for k, label in labels], numeric=(1,))


def _shards(summary: dict, manifest: dict) -> dict | None:
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


def _hosts(summary: dict) -> dict:
    def host_table(items, first="host", dropped="rows dropped"):
        return _table([first, dropped, "rows opted out", "opted out %"],
                      [(h.get("name", ""), f"{_int(h.get('dropped')):,}", f"{_int(h.get('opted_out')):,}",
                        _pct(_int(h.get("opted_out")), _int(h.get("dropped")))) for h in items],
                      numeric=(1, 2, 3), classes={0: "mono name"})

    by_opt = list(summary.get("top_hosts_by_optout") or [])
    red = REASON_GROUPS["reserved"][1]
    chart_rows = [(str(h.get("name", "")), [(_int(h.get("opted_out")), red),
                                            (max(0, _int(h.get("dropped")) - _int(h.get("opted_out"))), _MUTED)],
                   f"{_int(h.get('opted_out')):,} opted out / {_int(h.get('dropped')):,} dropped")
                  for h in by_opt[:12] if _int(h.get("opted_out"))]
    return {
        "legend": [("opted out", red), ("dropped for other reasons", _MUTED)],
        "chart": _bars("Top hosts by opted-out rows", chart_rows, label_chars=40),
        "hosts": _split_top(by_opt, host_table),
        "domains": _split_top(summary.get("top_domains_by_optout") or [],
                              lambda x: host_table(x, "registered domain", "rows dropped on those hosts")),
        "drops": _split_top(summary.get("top_hosts_by_drops") or [], host_table),
    }


def _unreachable(summary: dict) -> dict | None:
    items = summary.get("unreachable_authorities") or []
    if not items:
        return None

    def render(rows):
        return _table(["authority", "rows affected", "what failed"],
                      [(u.get("authority", ""), f"{_int(u.get('rows')):,}", u.get("detail", "")) for u in rows],
                      numeric=(1,), classes={0: "mono name", 2: "mono wrapcell"})

    return {"count": f"{len(items):,}", "rows": f"{sum(_int(u.get('rows')) for u in items):,}",
            "table": _split_top(items, render)}


def _provenance(summary: dict, manifest: dict) -> dict:
    policy = manifest.get("policy") or {}
    keep = set(policy.get("keep_classes") or ())
    classes = list(_CLASS_ORDER)
    class_chips = _View(kind="classes", items=[(c, c in keep) for c in classes + sorted(keep - set(classes))])
    used = set(policy.get("sources") or ())
    shown = {"id", "name", "sha256", "source", "keep_classes", "sources", "tokens"}
    pairs = [("policy id", policy.get("id") or summary.get("policy")), ("name", policy.get("name")),
             ("sha256", policy.get("sha256")), ("loaded from", policy.get("source")),
             ("keeps license classes", class_chips),
             ("signal sources checked", _View(kind="sources", items=list(policy.get("sources") or [])))]
    pairs += [(k.replace("_", " "), v) for k, v in policy.items() if k not in shown]
    pairs.append(("AI-crawler product tokens", policy.get("tokens")))
    unchecked = ", ".join(s for s in _SOURCE_NAMES if s not in used) if used and not used >= set(_SOURCE_NAMES) else None

    signals = manifest.get("signals")
    snapshot = None
    if signals:
        scalar: list[tuple[str, Any]] = [(k.replace("_", " "), v) for k, v in signals.items()
                                         if k not in ("files", "counts", "inputs", "file", "sha256") and not isinstance(v, (dict, list))]
        if signals.get("file"):
            scalar.append(("latest file written", _View(kind="mono", text=str(signals["file"]))))
        if signals.get("sha256"):
            scalar.append(("latest file sha256", signals["sha256"]))
        files = signals.get("files") or []
        counts = signals.get("counts") or {}
        count_table = None
        if counts:
            outcomes = sorted({o for per in counts.values() for o in per}, key=lambda o: (o != "ok", o))
            rows = [[kind] + [f"{_int(per.get(o)):,}" if per.get(o) else "·" for o in outcomes]
                    + [f"{sum(map(_int, per.values())):,}"] for kind, per in counts.items()]
            count_table = _table(["kind", *outcomes, "total"], rows, numeric=range(1, len(outcomes) + 2), classes={0: "mono"})
        snapshot = {"facts": _kv(scalar), "file_count": f"{len(files):,}",
                    "files": _table(["file", "sha256"], [(f.get("file", ""), f.get("sha256", "")) for f in files],
                                    classes={0: "mono", 1: "hash"}),
                    "counts": count_table, "inputs": list(signals.get("inputs") or [])}

    lists = [dict(o, kind=o.get("kind", "URLs and domains")) for o in manifest.get("optout_lists") or []]
    opts = manifest.get("options") or {}
    run_pairs: list[tuple[str, Any]] = [
        ("tool", f"{manifest.get('tool', 'license-filter')} {manifest.get('version') or ''}".strip()),
        ("audit written at", manifest.get("created_at"))]
    run_pairs += [(k.replace("_", " "), v) for k, v in opts.items()]
    cols = manifest.get("columns")
    if cols:
        run_pairs.append(("column mapping", _View(kind="columns", items=[(k, _cell(v)) for k, v in cols.items()])))
    outputs = []
    for o in manifest.get("outputs") or []:
        for kind in ("kept", "rejected", "attribution"):
            if isinstance(o.get(kind), dict):
                outputs.append((o.get("input", ""), kind, o[kind].get("path", ""), f"{_int(o[kind].get('rows')):,}"))
    return {
        "policy": _kv(pairs), "unchecked": unchecked, "snapshot": snapshot,
        "lists": _table(["file", "kind", "version", "entries", "sha256"],
                        [(o.get("path", ""), o.get("kind", ""), o.get("version", ""), f"{_int(o.get('entries')):,}",
                          o.get("sha256", "")) for o in lists], numeric=(3,), classes={0: "mono wrapcell", 4: "hash"})
        if lists else None,
        "run": _kv(run_pairs),
        "outputs": {"count": f"{len(outputs):,}",
                    "table": _table(["input", "kind", "file", "rows"], outputs, numeric=(3,),
                                    classes={0: "mono wrapcell", 2: "mono wrapcell"})} if manifest.get("outputs") else None,
    }


def render_report(summary: dict, manifest: dict) -> str:
    """The whole report page as one HTML string (UTF-8, no external resources)."""
    summary = summary or {}
    manifest = manifest or {}
    policy_id = (manifest.get("policy") or {}).get("id") or summary.get("policy") or "unknown policy"
    signals = manifest.get("signals") or {}
    snap = f"snapshot {signals.get('created_at')}" if signals.get("created_at") else ("no snapshot" if not signals else "snapshot")
    meta = f"policy {policy_id} · {snap} · audit written {manifest.get('created_at') or ''}"
    if manifest.get("run_id"):
        meta += f" · run {manifest['run_id']}"
    return _render("report.html", title=f"license-filter audit report · {policy_id}", meta=meta,
                   version=manifest.get("version") or "",
                   overview=_overview(summary, manifest), funnel=_funnel(summary), reasons=_reasons(summary),
                   sources=_sources(summary), licenses=_licenses(summary), shards=_shards(summary, manifest),
                   hosts=_hosts(summary), unreachable=_unreachable(summary), errors=list(summary.get("errors") or []),
                   provenance=_provenance(summary, manifest))


# --- the images stage's page (license-filter images) ---------------------------------------------------
def render_images_report(summary: dict, manifest: dict) -> str:
    """The images stage's audit page (same style and CSP as the filter's report)."""
    acct = summary.get("accounting", {})
    total = _int(acct.get("input_samples"))
    kept, rejected, errors = _int(acct.get("kept")), _int(acct.get("rejected")), _int(acct.get("errors"))
    policy_id = (manifest.get("policy") or {}).get("id") or summary.get("policy") or "unknown policy"
    by_reason = summary.get("by_reason") or {}
    docs = summary.get("reason_docs") or {}
    found_rows = [(_IMAGE_SOURCE_NAMES.get(src, src), value, f"{_int(count):,}")
                  for src, values in (summary.get("signals_found") or {}).items() for value, count in values.items()]
    drops = summary.get("drops_by_source") or {}
    conflicts = summary.get("license_conflicts") or {}
    c2pa = manifest.get("c2pa") or {}
    view = {
        "ok": bool(acct.get("ok")),
        "equation": (f"kept {kept:,} + rejected {rejected:,} + errors {errors:,} "
                     f"{'=' if kept + rejected + errors == total else '≠'} input samples {total:,}"),
        "cards": [(k, f"{v:,}", _pct(v, total), c) for k, v, c in (("kept", kept, "kept"), ("rejected", rejected, "bad"),
                                                                   ("errors", errors, ""))],
        "reasons": _bars("Samples per primary reason", [
            (r, [(_int(c), REASON_GROUPS[REASON_GROUP_OF.get(r, "evidence")][1])], f"{_int(c):,}  ({_pct(_int(c), total)})")
            for r, c in by_reason.items()]),
        "reason_table": _table(["reason", "samples", "meaning"], [(r, f"{_int(c):,}", docs.get(r, "")) for r, c in by_reason.items()],
                               numeric=[1], classes={2: "doc"}),
        "found": _table(["source", "value", "samples"], found_rows, numeric=[2]),
        "drops": _table(["source", "samples"], [(_IMAGE_SOURCE_NAMES.get(k, k), f"{_int(v):,}") for k, v in drops.items()],
                        numeric=[1]),
        "conflicts": _table(["embedded licence vs LICENSE column", "samples"], [(k, f"{_int(v):,}") for k, v in conflicts.items()],
                            numeric=[1]),
        "classes": _table(["licence class (after embedded override)", "samples", "kept"],
                          [(k, f"{_int(v):,}", f"{_int((summary.get('kept_by_license_class') or {}).get(k)):,}")
                           for k, v in (summary.get("by_license_class") or {}).items()], numeric=[1, 2]),
        "carriers": _table(["licence taken from", "samples"], [(k, f"{_int(v):,}") for k, v in
                                                                (summary.get("by_license_carrier") or {}).items()], numeric=[1]),
        "shards": _table(["shard", "samples", "kept", "rejected", "errors", "error"],
                         [(s.get("shard"), f"{_int(s.get('samples')):,}", f"{_int(s.get('kept')):,}",
                           f"{_int(s.get('rejected')):,}", f"{_int(s.get('errors')):,}", s.get("error") or "")
                          for s in summary.get("by_shard") or []], numeric=[1, 2, 3, 4], classes={0: "name"}),
        "errors": _table(["error"], [(e,) for e in summary.get("errors") or []]),
        "provenance": _kv([("policy", policy_id), ("policy sha256", (manifest.get("policy") or {}).get("sha256")),
                           ("layout", manifest.get("layout")), ("C2PA reader", c2pa.get("library")),
                           ("remote manifest fetching", c2pa.get("remote_manifest_fetch")),
                           ("C2PA trust anchors", c2pa.get("trust_anchors")),
                           ("C2PA validation states", summary.get("c2pa_validation") or {}),
                           ("options", manifest.get("options")), ("created", manifest.get("created_at"))]),
    }
    return _render("images_report.html", title=f"license-filter images audit · {policy_id}",
                   meta=f"policy {policy_id} · audit written {manifest.get('created_at') or ''}",
                   version=manifest.get("version") or "", images=view)


def write_report(output: str) -> str:
    """Render ``output``'s audit/summary.json and manifest.json into ``audit/report.html``; returns its path."""
    summary = json.loads(read_bytes(join(output, "audit", "summary.json")).decode("utf-8"))
    manifest = json.loads(read_bytes(join(output, "manifest.json")).decode("utf-8"))
    target = join(output, "audit", "report.html")
    render = render_images_report if manifest.get("stage") == "images" else render_report  # license-filter images
    write_bytes_atomic(target, render(summary, manifest).encode("utf-8"))
    return target
