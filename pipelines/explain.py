"""``license-filter explain URL``: the decision for one image URL, with every signal behind it.

The answer comes from the pipeline's own code, so it cannot differ from what a run decides for the
same row: the URL is annotated by ``transforms.annotate.annotate_table`` (the URL checks and the
authority/host/path split via ``license_rules.urls.split_url``) and decided by
``transforms.decide.BatchDecider.decide_table`` (license parsing, the cheap-first candidate rule, the
``Link: rel="license"`` override, ``license_rules.decision.decide``) on a one-row table. Every
source's verdict is then listed from ``BatchDecider.url_verdicts``, with its raw detail, the URL it
came from, the HTTP status, the body's sha256 and when it was fetched.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from license_rules.policy import SOURCES, PolicyError, load_policy
from license_rules.reasons import REASON_DOCS, Reason
from license_rules.urls import split_url
from transforms.annotate import annotate_table
from transforms.columns import ColumnError, ColumnMap, column_map
from transforms.decide import BatchDecider
from transforms.signals_index import SignalsIndex
from transforms.fileio import exists, join, read_bytes
from transforms.shards import InputError, expand_inputs, open_input
from transforms.snapshot import SnapshotError, describe_snapshot, read_snapshot

from .commands import (
    load_infringing_lists,
    load_name_lists,
    load_optout_lists,
    policy_from_arg,
)
from .errors import EXIT_OK, UserError

__all__ = ["explain", "explain_url", "make_decider", "find_row"]

_URL, _LICENSE = "URL", "LICENSE"
_SOURCE_ORDER = SOURCES  # the audit's order, from license_rules.records.Source


def find_row(url: str, pattern: str, columns: str) -> dict[str, Any]:
    """The first row of the shards matching ``pattern`` whose URL column equals ``url``.

    Returns ``{"shard", "row", "license", "license_column", "matches", "other_licenses"}``; raises
    :class:`UserError` when nothing matches or the shards cannot be read.
    """
    try:
        cmap = column_map(columns)
    except ColumnError as exc:
        raise UserError(f"--columns: {exc}") from None
    try:
        files = expand_inputs([pattern])
    except InputError as exc:
        raise UserError(str(exc).replace("--input", "--row-of", 1)) from None
    found: dict[str, Any] | None = None
    matches = 0
    licenses: list[str | None] = []
    for path in files:
        try:
            with open_input(path) as handle:
                pf = pq.ParquetFile(handle)
                names = pf.schema_arrow.names
                if cmap.url not in names:
                    raise UserError(f"--row-of {path}: no URL column {cmap.url!r} (use --columns)")
                lic_col = cmap.license_column(names)
                wanted = [cmap.url] + ([lic_col] if lic_col else [])
                table = pf.read(columns=wanted)
        except UserError:
            raise
        except (OSError, pa.ArrowException) as exc:
            raise UserError(f"--row-of {path}: not a readable parquet file: {exc}") from None
        urls = table.column(cmap.url)
        if pa.types.is_dictionary(urls.type):
            urls = urls.cast(urls.type.value_type)
        hits = pc.indices_nonzero(pc.fill_null(pc.equal(urls, pa.scalar(url, urls.type)), False)).to_pylist()
        for index in hits:
            lic = table.column(lic_col)[index].as_py() if lic_col else None
            matches += 1
            licenses.append(lic)
            if found is None:
                found = {"shard": path, "row": index, "license": lic, "license_column": lic_col}
    if found is None:
        raise UserError(f"{url!r} is not a row of --row-of {pattern} ({len(files)} shard(s) searched, "
                        f"URL column {cmap.url!r})")
    found["matches"] = matches
    found["other_licenses"] = sorted({lic for lic in licenses if lic != found["license"]}, key=lambda v: (v is None, v or ""))
    return found


def make_decider(policy, signals_table: pa.Table | None, optout, infringing=None):
    """The pipeline's decider for ``policy``, a snapshot table and a merged opt-out list (reusable)."""
    return BatchDecider(policy, SignalsIndex(signals_table), optout, infringing=infringing)


def explain_url(url: str | None, decider, license_value: str | None,
                license_column: str | None = _LICENSE, caption: str | None = None) -> dict[str, Any]:
    """The decision for one row (``url``, ``license_value``) as a JSON-ready document.

    ``decider`` comes from :func:`make_decider`; ``license_column=None`` means the row's data has no
    license column at all (as with ``--columns laion-joined``).
    """
    policy = decider.policy
    columns = {_URL: pa.array([url], pa.string())}
    if license_column is not None:
        columns[_LICENSE] = pa.array([license_value], pa.string())
    if caption is not None:  # the caption, for caption name opt-outs
        columns["_caption"] = pa.array([caption], pa.string())
    table = annotate_table(pa.table(columns), _URL, _LICENSE if license_column is not None else None)
    decided, index = decider.decide_table(table, _LICENSE if license_column is not None else None, _URL,
                                          "_caption" if caption is not None else None)
    facts = decided.select(["_lf_url_error", "_lf_authority", "_lf_host", "_lf_path", "_lf_keep"]).to_pylist()[0]
    row = {name: col[0].as_py() for name, col in index.columns(np.array([0]), with_reasons=True).items()}
    url_error = facts["_lf_url_error"]
    authority, host, path = facts["_lf_authority"], facts["_lf_host"], facts["_lf_path"]
    if url_error is None and path is None:  # annotate leaves the path to the decider for unlicensed rows

        path = split_url(url)[0].path
    raw_license = license_value if license_column is not None else None
    evidence = json.loads(row["lf_evidence"])
    # the pipeline consulted the sources for this row iff their verdicts are in its evidence
    consulted = any(e.get("source") not in ("license", "url") for e in evidence)
    sources: list[dict[str, Any]] = []
    link_licenses: tuple[str, ...] = ()
    if url_error is None:
        verdicts, link_licenses = decider.url_verdicts(url, authority, host, path)
        order = {name: i for i, name in enumerate(_SOURCE_ORDER)}
        for name, verdict in sorted(verdicts.items(), key=lambda kv: order.get(kv[0], len(order))):
            doc = verdict.as_dict()
            doc["used_by_policy"] = policy.uses(name)
            doc["reserves"] = verdict.verdict == "deny" and policy.uses(name)
            sources.append(doc)
    lic_ev = next((e for e in evidence if e.get("source") == "license"), {})
    reason = row["lf_reason"]
    try:
        reason_doc = REASON_DOCS[Reason(reason)]
    except ValueError:
        reason_doc = ""
    return {
        "url": url,
        "keep": bool(facts["_lf_keep"]),
        "reason": reason,
        "reason_doc": reason_doc,
        "reasons": list(row["lf_reasons"]),
        "url_error": url_error,
        "authority": authority,
        "host": host,
        "path": path,
        "policy": policy.policy_id,
        "license": {
            "row_value": raw_license,
            "raw": lic_ev.get("raw"),
            "carrier": row["lf_license_source"],
            "spdx": row["lf_license_spdx"],
            "license_class": row["lf_license_class"],
            "url": row["lf_license_url"],
            "inferred": lic_ev.get("inferred", []),
            "note": lic_ev.get("note"),
            "allowed": bool(index.license_ok[0]),
            "link_rel_license": list(link_licenses),
        },
        "sources_consulted": consulted,
        "sources": sources,
        "item_license": next((e for e in evidence if e.get("source") == "item_license"), None),
        "reserved_by": list(index.sources[0]),
        "tokens": list(index.tokens[0]),
        "evidence": evidence,
    }


# --- text output -------------------------------------------------------------------------------------
def _item_text(item: dict[str, Any]) -> list[str]:
    """The image's own license as its host's API answered (Commons/Flickr), for ``explain``."""
    role = ("decides the license; the LICENSE column is overridden" if item.get("used")
            else "not used: the LICENSE column decides")
    lines = [f"item       {item.get('api')} API: {item.get('item')}  ({role})"]
    found = f"  {item['spdx']}  class {item['license_class']}  {item.get('url') or ''}" if item.get("spdx") else ""
    lines.append(f"  verdict  {item.get('verdict')}{found}")
    for key, label in (("detail", "detail "), ("creator", "creator"), ("title", "title  "), ("source_page", "page   ")):
        if item.get(key):
            lines.append(f"  {label}  {item[key]}")
    answer = item.get("answer") or {}
    for i, (key, value) in enumerate(answer.items()):
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        lines.append(f"  {'answer ' if i == 0 else '       '}  {key}: {text[:300]}")
    where = [w for w in (item.get("request"), f"HTTP {item['status']}" if item.get("status") is not None else None,
                         f"fetched {item['fetched_at']}" if item.get("fetched_at") else None,
                         f"sha256 {item['sha256']}" if item.get("sha256") else None) if w]
    if where:
        lines.append(f"  request  {'  '.join(where)}")
    return lines


_MARK = {"deny": "RESERVES", "allow": "allows", "unknown": "no signal", "unreachable": "UNREACHABLE",
         "missing": "MISSING", "not_checked": "not checked"}


def _text(doc: dict[str, Any], info: dict[str, Any]) -> str:
    lines = [f"URL        {doc['url']}"]
    if doc["url_error"]:
        lines.append(f"           invalid: {doc['url_error']}")
    else:
        lines.append(f"authority  {doc['authority']}   path {doc['path']}")
    verdict = "KEEP" if doc["keep"] else "DROP"
    lines.append(f"decision   {verdict}  {doc['reason']}")
    if doc["reason_doc"]:
        lines.append(f"           {doc['reason_doc']}")
    lines.append(f"reasons    {', '.join(doc['reasons'])}")
    lines.append(f"policy     {doc['policy']}")
    lines.append(f"snapshot   {info['signals']}")
    if info["optout_lists"]:
        lines.append("opt-out    " + ", ".join(f"{o['path']} (sha256 {o['sha256'][:12]}…)" for o in info["optout_lists"]))
    lic = doc["license"]
    lines.append("")
    lines.append(f"license    from {info['license_from']}")
    lines.append(f"  value    {lic['row_value']!r}" if lic["row_value"] is not None else "  value    (none)")
    if lic["raw"] != lic["row_value"]:
        lines.append(f"  used     {lic['raw']!r} (from the {lic['carrier']}, which beats the row's value)")
    if lic["spdx"]:
        lines.append(f"  parsed   {lic['spdx']}  class {lic['license_class']}  {lic['url']}")
    else:
        lines.append("  parsed   no license recognised")
    lines.append(f"  carrier  {lic['carrier'] or 'none'}")
    for note in lic["inferred"]:
        lines.append(f"  inferred {note}")
    if lic["link_rel_license"]:
        lines.append(f"  Link rel=license on the image: {', '.join(lic['link_rel_license'])}")
    if lic["note"] and lic["raw"] is not None:
        lines.append(f"  note     {lic['note']}")
    lines.append(f"  policy   {'allowed' if lic['allowed'] else 'not allowed'}")
    lines.append("")
    if doc.get("item_license"):
        lines.extend(_item_text(doc["item_license"]))
        lines.append("")
    if doc["url_error"]:
        lines.append("sources    none checked: the URL is invalid")
        return "\n".join(lines)
    head = "sources" if doc["sources_consulted"] else (
        "sources    (not consulted for this decision: the license already fails, and the pipeline checks "
        "cheap signals first; shown for information)")
    lines.append(head)
    width = max((len(s["source"]) for s in doc["sources"]), default=8)
    for s in doc["sources"]:
        mark = _MARK.get(s["verdict"], s["verdict"])
        unused = "" if s["used_by_policy"] else "  (not used by this policy)"
        lines.append(f"  {s['source']:<{width}}  {mark:<11} {s.get('detail', '')}{unused}")
        if s.get("tokens"):
            lines.append(f"  {'':<{width}}  {'':<11} tokens: {', '.join(s['tokens'])}")
        where = []
        if s.get("url"):
            where.append(s["url"])
        if s.get("status") is not None:
            where.append(f"HTTP {s['status']}")
        if s.get("fetched_at"):
            where.append(f"fetched {s['fetched_at']}")
        if s.get("sha256"):
            where.append(f"sha256 {s['sha256']}")
        if where:
            lines.append(f"  {'':<{width}}  {'':<11} {'  '.join(where)}")
    return "\n".join(lines)


def explain(args) -> int:
    """Run ``license-filter explain``; prints the decision and returns the exit code."""
    run = args.run
    if run is None and not args.signals and os.path.isfile(os.path.join(DEFAULT_RUN, "manifest.json")):
        run = DEFAULT_RUN  # plain `explain URL` next to the default output: that run
    if run is not None:
        return explain_run(args, run)
    if args.sample_id is not None:
        raise UserError("--sample-id needs --run OUT")
    if args.policy is None:
        args.policy = "permissive"
    if not args.url:
        raise UserError("explain needs an image URL: license-filter explain URL --signals DIR "
                        "(or license-filter explain --run OUT URL)")
    if not args.signals:
        raise UserError("explain needs --signals DIR (the signals snapshot the run used)")
    if args.license is not None and args.row_of:
        raise UserError("give either --license or --row-of, not both")

    policy = policy_from_arg(args.policy)
    try:
        signals_table = read_snapshot(args.signals)
    except SnapshotError as exc:
        raise UserError(f"--signals {args.signals}: {str(exc).splitlines()[0]}") from None
    optout, optout_info = load_optout_lists(args.optout_list)
    infringing, infringing_info = load_infringing_lists(getattr(args, "infringing_list", []))
    optout_info = optout_info + infringing_info
    license_column: str | None = _LICENSE
    row: dict[str, Any] | None = None
    if args.row_of:
        row = find_row(args.url, args.row_of, args.columns)
        license_value = row["license"]
        license_column = _LICENSE if row["license_column"] else None
        license_from = f"{row['license_column'] or 'no license column'} of {row['shard']} row {row['row']}"
        if row["matches"] > 1:
            license_from += f" (first of {row['matches']} rows with this URL"
            if row["other_licenses"]:
                license_from += "; others carry " + ", ".join(repr(v) for v in row["other_licenses"]) + ": use --license"
            license_from += ")"
    elif args.license is not None:
        license_value = args.license
        license_from = "--license"
    else:
        license_value = None
        license_from = "nowhere: no --license and no --row-of, so the license is taken as missing"
    doc = explain_url(args.url, make_decider(policy, signals_table, optout, infringing), license_value, license_column)
    info = {"signals": args.signals, "optout_lists": optout_info, "license_from": license_from}
    if args.json:
        doc = dict(doc, signals=args.signals, optout_lists=optout_info, license_from=license_from, row=row)
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(_text(doc, info) + "\n")
    return EXIT_OK


# --- explain --run OUT: the recorded decision, recomputed from the run's own inputs --------------------
EXIT_DIFFERS = 4
_ID_COLUMNS = ("SAMPLE_ID", "uid", "key", "sample_id", "id")
DEFAULT_RUN = "license-filter-out"


class RunContext:
    """A published run, read once: its manifest, and a decider built from the run's own policy,
    snapshot, opt-out lists and options (each checked against the sha256 the manifest recorded)."""

    def __init__(self, out: str):
        self.out = out
        path = join(out, "manifest.json")
        if not exists(path):
            raise UserError(f"--run {out}: no manifest.json, so no complete run to explain")
        try:
            self.manifest = json.loads(read_bytes(path).decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"--run {out}: manifest.json unreadable: {exc}") from None
        m = self.manifest
        source = (m.get("policy") or {}).get("source") or ""
        spec = source[len("preset:"):] if source.startswith("preset:") else source
        try:
            self.policy = load_policy(spec)
        except PolicyError as exc:
            raise UserError(f"--run {out}: the run's policy {source}: {exc}") from None
        if self.policy.sha256 != m["policy"].get("sha256"):
            raise UserError(f"--run {out}: the run's policy {source} changed since the run (sha256 "
                            f"{m['policy'].get('sha256', '?')[:12]} then, {self.policy.sha256[:12]} now); "
                            "the recorded decisions cannot be recomputed")
        self.signals_dir = (m.get("signals") or {}).get("dir")
        signals_table = None
        if self.signals_dir:
            try:
                now = describe_snapshot(self.signals_dir)["files"]
            except SnapshotError as exc:
                raise UserError(f"--run {out}: the run's snapshot {self.signals_dir}: {str(exc).splitlines()[0]}") from None
            then = m["signals"].get("files", [])
            if sorted(f["sha256"] for f in now) != sorted(f["sha256"] for f in then):
                raise UserError(f"--run {out}: the run's snapshot {self.signals_dir} changed since the run "
                                "(its files' sha256 differ from manifest.json)")
            signals_table = read_snapshot(self.signals_dir)
        recorded = m.get("optout_lists", [])
        by_kind = {kind: [o["path"] for o in recorded if o.get("kind") == kind]
                   for kind in (None, "infringing domains", "caption names")}
        optout, info = load_optout_lists(by_kind[None])
        infringing, info_i = load_infringing_lists(by_kind["infringing domains"])
        names, info_n = load_name_lists(by_kind["caption names"])
        now_sha = {o["path"]: o["sha256"] for o in info + info_i + info_n}
        for rec in recorded:
            if now_sha.get(rec["path"]) != rec["sha256"]:
                raise UserError(f"--run {out}: the run's list {rec['path']} changed since the run "
                                "(its sha256 differs from manifest.json)")
        self.optout_info = info + info_i + info_n
        cols = m.get("columns") or {}
        self.cmap = ColumnMap(cols.get("url", _URL), cols.get("caption"), tuple(cols.get("license", [_LICENSE])),
                              bool(cols.get("license_required", True)))
        full_audit = bool((m.get("options") or {}).get("full_audit"))
        self.decider = BatchDecider(self.policy, SignalsIndex(signals_table), optout, full_audit,
                                    infringing=infringing, names=names)

    def outputs(self) -> list[tuple[str, str]]:
        """(kind, path) of every kept/rejected shard the run published."""
        found = []
        for entry in self.manifest.get("outputs", []):
            for kind in ("kept", "rejected"):
                if kind in entry:
                    found.append((kind, join(self.out, entry[kind]["path"])))
        return found

    def find(self, url: str | None = None, sample_id: str | None = None) -> dict[str, Any]:
        """The recorded row: ``{"kind", "file", "row", "record"}`` from the run's kept/rejected shards."""
        for kind, path in self.outputs():
            try:
                with open_input(path) as handle:
                    table = pq.ParquetFile(handle).read()
            except (OSError, pa.ArrowException) as exc:
                raise UserError(f"--run {self.out}: {path} unreadable: {exc}") from None
            if sample_id is not None:
                col = next((c for c in _ID_COLUMNS if c in table.column_names), None)
                if col is None:
                    raise UserError(f"--sample-id: the run's shards have no id column ({', '.join(_ID_COLUMNS)})")
                values = table.column(col)
                try:
                    wanted = pa.scalar(int(sample_id)) if pa.types.is_integer(values.type) else pa.scalar(str(sample_id))
                except ValueError:
                    continue
                mask = pc.equal(values.cast(wanted.type) if values.type != wanted.type else values, wanted)
            else:
                urls = table.column(self.cmap.url)
                if pa.types.is_dictionary(urls.type):
                    urls = urls.cast(urls.type.value_type)
                mask = pc.equal(urls, pa.scalar(url, urls.type))
            hits = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
            if hits:
                row = table.slice(hits[0], 1).to_pylist()[0]
                return {"kind": kind, "file": path, "row": hits[0], "record": row,
                        "license_column": self.cmap.license_column(table.column_names)}
        what = f"sample id {sample_id}" if sample_id is not None else repr(url)
        rejected = any(kind == "rejected" for kind, _ in self.outputs())
        hint = "" if rejected else " (the run did not write rejected rows: rerun it with --write-rejected)"
        raise UserError(f"{what} is not a row of the run in {self.out}{hint}")

    def explain(self, url: str | None = None, sample_id: str | None = None) -> dict[str, Any]:
        """The recorded decision, the recomputed one and whether they agree."""
        found = self.find(url, sample_id)
        rec = found["record"]
        url = rec.get(self.cmap.url)
        lic_col = found["license_column"]
        caption = rec.get(self.cmap.caption) if self.cmap.caption and self.decider.names is not None else None
        doc = explain_url(url, self.decider, rec.get(lic_col) if lic_col else None, _LICENSE if lic_col else None,
                          caption)
        recorded = {"keep": found["kind"] == "kept", "reason": rec.get("lf_reason"),
                    "reasons": list(rec["lf_reasons"]) if rec.get("lf_reasons") is not None else None,
                    "license_spdx": rec.get("lf_license_spdx"), "evidence": json.loads(rec.get("lf_evidence") or "[]"),
                    "file": found["file"], "row": found["row"]}
        now = {"keep": doc["keep"], "reason": doc["reason"], "license_spdx": doc["license"]["spdx"]}
        differs = [k for k in now if recorded[k] != now[k]]
        if recorded["reasons"] is not None and recorded["reasons"] != doc["reasons"]:
            differs.append("reasons")
        recomputed = {"keep": doc["keep"], "reason": doc["reason"], "reasons": doc["reasons"]}
        return dict(doc, keep=recorded["keep"], reason=recorded["reason"], recorded=recorded, recomputed=recomputed,
                    agrees=not differs, differs=differs, run_id=self.manifest.get("run_id"), run=self.out)


def _run_text(doc: dict[str, Any], ctx: RunContext) -> str:
    rec = doc["recorded"]
    head = [f"run        {doc['run_id'] or '(older version)'} in {doc['run']}",
            f"recorded   {'KEEP' if rec['keep'] else 'DROP'}  {rec['reason']}   ({rec['file']} row {rec['row']})"]
    if doc["agrees"]:
        head.append("recomputed the same decision from the run's policy, snapshot and opt-out lists")
    else:
        head.append(f"MISMATCH   recomputed {'KEEP' if doc['recomputed']['keep'] else 'DROP'}  "
                    f"{doc['recomputed']['reason']}: {', '.join(doc['differs'])} differ from the recorded decision")
    info = {"signals": ctx.signals_dir, "optout_lists": ctx.optout_info, "license_from": f"the row in {rec['file']}"}
    body = dict(doc, keep=doc["recomputed"]["keep"], reason=doc["recomputed"]["reason"])
    return "\n".join(head) + "\n\n" + _text(body, info)


def explain_run(args, out: str) -> int:
    if args.url is None and args.sample_id is None:
        raise UserError("explain --run needs an image URL or --sample-id N")
    if args.url is not None and args.sample_id is not None:
        raise UserError("give either a URL or --sample-id, not both")
    for flag, value in (("--signals", args.signals), ("--policy", args.policy), ("--license", args.license),
                        ("--row-of", args.row_of)):
        if value:
            raise UserError(f"{flag} does not go with --run: the run's own inputs are used")
    for flag, value in (("--optout-list", args.optout_list), ("--infringing-list", getattr(args, "infringing_list", []))):
        if value:
            raise UserError(f"{flag} does not go with --run: the run's own inputs are used")
    ctx = RunContext(out)
    doc = ctx.explain(args.url, args.sample_id)
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(_run_text(doc, ctx) + "\n")
    if not doc["agrees"]:
        print(f"license-filter: error: MISMATCH: the recomputed decision differs from the one run "
              f"{doc['run_id']} recorded ({', '.join(doc['differs'])})", file=sys.stderr)
        return EXIT_DIFFERS
    return EXIT_OK
