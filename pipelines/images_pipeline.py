"""The images stage: ``license-filter images`` over an img2dataset output folder.

    license-filter images --input DIR --output OUT [--policy P] [--write-rejected] [...]
    license-filter images --explain KEY (--output OUT | --input DIR [--policy P]) [--json]

It writes OUT in the input's own layout (webdataset tars, parquet, or files folders) with the
reserved or not-allowed samples removed (``--write-rejected`` copies them to ``OUT/rejected/``),
plus ``audit/summary.json``, ``audit/samples/<shard>.parquet`` (one row per sample: decision,
reasons, evidence), ``audit/report.html`` and ``manifest.json`` with the accounting.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sys
from importlib.metadata import version as _version
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from license_rules.policy import PolicyError, load_policy
from transforms.imageshards import (
    ImageShardError,
    Sample,
    detect_layout,
    list_shards,
    read_samples,
)

from .beam_options import BeamOptionsError, pipeline_options
from .commands import redact_flags
from .errors import EXIT_OK, EXIT_ROW_ERRORS, UserError, tool_version

__all__ = ["add_images_parser", "cmd_images", "build_images", "run_images", "explain_sample", "images_text_summary"]


def add_images_parser(sub) -> None:
    img = sub.add_parser("images", allow_abbrev=False,
                         help="drop downloaded samples whose own files reserve AI training or state a licence the "
                              "policy does not keep (XMP/IPTC, TDMRep XMP, C2PA/CAWG)")
    img.add_argument("--input", metavar="DIR", help="img2dataset's --output_folder (webdataset, parquet or files)")
    img.add_argument("--output", metavar="OUT", help="output directory (same layout as the input)")
    img.add_argument("--policy", default="permissive", metavar="FILE|PRESET",
                     help="policy TOML file or preset: public-domain, permissive (default), open")
    img.add_argument("--format", choices=("webdataset", "parquet", "files"),
                     help="the input's img2dataset output format (default: detected)")
    img.add_argument("--license-col", action="append", metavar="C",
                     help="metadata field with the row's licence (default: LICENSE, then license, then lf_license_url)")
    img.add_argument("--url-col", default="url", metavar="C", help="metadata field with the image URL (url)")
    img.add_argument("--write-rejected", action="store_true", help="also write rejected samples to OUT/rejected/")
    img.add_argument("--c2pa-trust-anchors", metavar="PEM",
                     help="trust anchors for C2PA signatures (recorded only: untrusted reservations still count)")
    img.add_argument("--no-report", action="store_true", help="do not write audit/report.html")
    img.add_argument("--quiet", action="store_true", help="no summary on stdout")
    img.add_argument("--explain", metavar="KEY",
                     help="explain one sample: with --input, decided now from the input; else as recorded in OUT")
    img.add_argument("--json", action="store_true", help="with --explain: print the record as JSON")


def _check_dirs(input_dir: str, output: str) -> None:
    if "://" in input_dir:
        raise UserError(f"--input {input_dir}: the images stage reads a local img2dataset folder")
    src, dst = os.path.realpath(input_dir), os.path.realpath(output)
    if dst == src or dst.startswith(src + os.sep):
        raise UserError(f"--output {output}: must not be --input or inside it (the input would be overwritten or "
                        "read as a shard)")
    try:
        os.makedirs(output, exist_ok=True)
        probe = os.path.join(output, f".license-filter-probe-{os.getpid()}")
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise UserError(f"--output {output}: not writable: {exc.strerror or exc}") from None


# Beam and transforms.images (which imports Beam) are imported inside the functions that run the
# pipeline: the CLI builds its parser from this module without loading Beam.
def build_images(p, shards: list[str], cfg, context: dict[str, Any]):
    import apache_beam as beam

    from transforms.images import FilterImageShards, SummariseImages, WriteImagesAudit

    results = (p | "ListShards" >> beam.Create(shards)
                 | "FilterImageShards" >> FilterImageShards(cfg))
    stats = results | "SummariseImages" >> SummariseImages()
    return (stats, results) | "WriteImagesAudit" >> WriteImagesAudit(cfg.output, context)


def run_images(shards: list[str], cfg, context: dict[str, Any], options) -> None:
    import apache_beam as beam

    with beam.Pipeline(options=options) as p:
        build_images(p, shards, cfg, context)


def cmd_images(args, extra) -> int:
    if args.explain:
        if extra:
            raise UserError(f"unknown option(s) for images --explain: {' '.join(extra)}")
        if args.input:
            return _print_records(explain_live(args), args.json)
        if not args.output:
            raise UserError("images --explain KEY needs --output OUT (a finished run) or --input DIR")
        return explain_sample(args.output, args.explain, args.json)
    if not args.input or not args.output:
        raise UserError("images: --input DIR and --output OUT are required (or --explain KEY with one of them)")
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        raise UserError(str(exc)) from None
    from transforms.images import ImagesConfig

    if not os.path.isdir(args.input):
        raise UserError(f"--input {args.input}: not a directory (give img2dataset's --output_folder)")
    _check_dirs(args.input, args.output)
    try:
        layout = args.format or detect_layout(args.input)
        shards = list_shards(args.input, layout)
    except ImageShardError as exc:
        raise UserError(str(exc)) from None
    anchors = None
    if args.c2pa_trust_anchors:
        try:
            with open(args.c2pa_trust_anchors, encoding="utf-8") as fh:
                anchors = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"--c2pa-trust-anchors {args.c2pa_trust_anchors}: cannot read: {exc}") from None
        if "-----BEGIN CERTIFICATE-----" not in anchors:
            raise UserError(f"--c2pa-trust-anchors {args.c2pa_trust_anchors}: no PEM certificate in it")
    try:
        options = pipeline_options(extra)
    except BeamOptionsError as exc:
        raise UserError(str(exc)) from None
    output = os.path.abspath(args.output)
    license_cols = tuple(args.license_col) if args.license_col else ("LICENSE", "license", "lf_license_url")
    cfg = ImagesConfig(input_dir=os.path.abspath(args.input), output=output, layout=layout, policy=policy,
                       license_columns=license_cols, url_column=args.url_col, write_rejected=args.write_rejected,
                       c2pa_trust_anchors=anchors)

    import c2pa  # its native library loads only for an images run

    context = {
        "version": tool_version(),
        "layout": layout,
        "options": {"command": "images", "input": cfg.input_dir, "output": output, "format": layout,
                    "write_rejected": args.write_rejected, "license_columns": list(license_cols),
                    "url_column": args.url_col, "beam": redact_flags(extra),
                    "runner": options.get_all_options()["runner"]},
        "policy": policy.as_dict(),
        "c2pa": {"library": f"c2pa-python {_version('c2pa-python')} (c2pa-rs {c2pa.sdk_version()})", "remote_manifest_fetch": False, "ocsp_fetch": False,
                 "trust_anchors": args.c2pa_trust_anchors, "trust_required": False},
    }
    run_images([os.path.abspath(s) for s in shards], cfg, context, options)
    _remove_stale(output)
    with open(os.path.join(output, "audit", "summary.json"), encoding="utf-8") as fh:
        summary = json.load(fh)
    with open(os.path.join(output, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    if not args.no_report:
        from .report import write_report  # Jinja2: loaded when the run is done

        write_report(output)
    if not args.quiet:
        print(images_text_summary(summary, manifest, output))
    acct = summary["accounting"]
    if not acct["ok"] or acct["errors"]:
        bad = [i for i in manifest["inputs"] if i.get("error")]
        names = ", ".join(i["path"] for i in bad[:5]) or "the inputs"
        print(f"license-filter: error: some samples could not be read in {names}; see manifest.json inputs[].error",
              file=sys.stderr)
        return EXIT_ROW_ERRORS
    return EXIT_OK


def _remove_stale(output: str) -> None:
    """Remove shards an earlier run left in OUT that this run's manifest does not list. Only names
    img2dataset gives shards (digits: ``00012.tar``, ``00012.parquet``, ``00012/``) are touched."""
    with open(os.path.join(output, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    listed = {os.path.abspath(e["path"]) for out in manifest["outputs"] for k, e in out.items() if k != "input"}
    shard = re.compile(r"^\d+(\.tar|\.parquet)?$")
    candidates = []
    for base in (output, os.path.join(output, "rejected"), os.path.join(output, "audit", "samples")):
        candidates += [p for p in glob.glob(os.path.join(base, "*")) if shard.match(os.path.basename(p))]
    for path in candidates:
        if os.path.abspath(path) in listed:
            continue
        if os.path.isdir(path):
            if not any(os.path.isdir(os.path.join(path, n)) for n in os.listdir(path)):
                shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)


def images_text_summary(summary: dict, manifest: dict, output: str) -> str:
    acct = summary["accounting"]
    lines = [
        f"license-filter images: {len(manifest['inputs'])} shard(s) ({manifest.get('layout')}), "
        f"{acct['input_samples']:,} samples -> {acct['kept']:,} kept, {acct['rejected']:,} rejected, "
        f"{acct['errors']:,} errors; accounting {'OK' if acct['ok'] else 'FAILED'} (kept + rejected + errors == input)",
        f"policy: {manifest['policy'].get('id')}",
        "reasons:",
    ]
    for reason, count in summary["by_reason"].items():
        lines.append(f"  {reason:<30} {count:>10,}")
    found = summary.get("signals_found") or {}
    if found:
        lines.append("embedded signals found: " + "; ".join(
            f"{src}: " + ", ".join(f"{v} {n:,}" for v, n in list(vals.items())[:4]) for src, vals in found.items()))
    conflicts = {k: v for k, v in (summary.get("license_conflicts") or {}).items() if v}
    if conflicts:
        lines.append("embedded licence vs LICENSE column: " + ", ".join(f"{k} {v:,}" for k, v in conflicts.items()))
    if summary.get("samples_without_license_column"):
        lines.append(f"note: {summary['samples_without_license_column']:,} sample(s) have no licence field in their "
                     "metadata: run img2dataset with --save_additional_columns '[\"LICENSE\", ...]'")
    for err in summary.get("errors", [])[:5]:
        lines.append(f"error: {err}")
    lines.append(f"output: {output}/  audit: {output}/audit/  manifest: {output}/manifest.json")
    return "\n".join(lines)


def explain_sample(output: str, key: str, as_json: bool) -> int:
    """Print the recorded decision for one sample key from OUT/audit/samples/."""
    files = sorted(glob.glob(os.path.join(output, "audit", "samples", "*.parquet")))
    if not files:
        raise UserError(f"{output}: not a license-filter images output (no audit/samples/*.parquet)")
    records = []
    for path in files:
        records += pq.read_table(path, filters=pc.field("key") == key).to_pylist()
    if not records:
        raise UserError(f"images --explain: no sample with key {key!r} in {output}/audit/samples/")
    return _print_records(records, as_json)


def explain_live(args) -> list[dict]:
    """Find the sample ``args.explain`` in ``args.input`` (streaming every shard) and decide it now."""
    from transforms.images import C2paReader, ImagesConfig, judge_sample

    try:
        policy = load_policy(args.policy)
        layout = args.format or detect_layout(args.input)
        shards = list_shards(args.input, layout)
    except (PolicyError, ImageShardError) as exc:
        raise UserError(str(exc)) from None
    cfg = ImagesConfig(input_dir=args.input, output="", layout=layout, policy=policy,
                       license_columns=tuple(args.license_col) if args.license_col else ("LICENSE", "license", "lf_license_url"),
                       url_column=args.url_col)
    reader = C2paReader()
    records = []
    for shard in shards:
        try:
            for item in read_samples(shard, layout, []):
                if isinstance(item, Sample) and item.key == args.explain:
                    records.append({**judge_sample(item, cfg, reader)[1], "shard": shard})
        except (OSError, ValueError) as exc:
            print(f"license-filter: warning: {shard}: read stopped: {exc}", file=sys.stderr)
    if not records:
        raise UserError(f"images --explain: no sample with key {args.explain!r} in {args.input}")
    return records


def _print_records(records: list[dict], as_json: bool) -> int:
    for rec in records:
        if isinstance(rec["evidence"], str):
            rec["evidence"] = json.loads(rec["evidence"] or "[]")
        if isinstance(rec["signals"], str):
            rec["signals"] = json.loads(rec["signals"] or "{}")
    if as_json:
        print(json.dumps(records if len(records) > 1 else records[0], indent=2, default=str))
        return EXIT_OK
    for rec in records:
        print(f"sample {rec['key']} (shard {rec['shard']}): {'KEPT' if rec['kept'] else 'REJECTED'} - {rec['reason']}")
        print(f"  url: {rec['url']}")
        print(f"  reasons: {', '.join(rec['reasons'])}")
        print(f"  licence: {rec['license_spdx'] or 'none'} ({rec['license_class'] or '-'}) from {rec['license_carrier']}"
              + (f"; embedded vs LICENSE column: {rec['license_conflict']}" if rec["license_conflict"] else ""))
        print(f"  image: {rec['image_format'] or 'none'}, {rec['image_bytes']:,} bytes")
        for ev in rec["evidence"]:
            extra = {k: v for k, v in ev.items() if k not in ("source", "verdict", "detail")}
            line = f"  - {ev.get('source')}: {ev.get('verdict', '')}"
            if ev.get("detail"):
                line += f" - {ev['detail']}"
            print(line)
            if extra:
                print(f"      {json.dumps(extra, default=str)[:600]}")
    return EXIT_OK
