"""The audit counts are also Beam metrics (for runner UIs): read them back from a real run."""
from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from license_rules.names import parse_name_list
from license_rules.optout import parse_optout_list
from license_rules.policy import load_policy
from transforms.columns import column_map
from transforms.filtering import FilterConfig, FilterShards
from transforms.shards import expand_inputs, shard_names


def test_reason_class_and_source_counters_equal_the_summary(tmp_path):
    files = expand_inputs(["sample_data/shards/*.parquet"])
    optout = parse_optout_list(open("sample_data/optout.txt", encoding="utf-8").read(), "sample_data/optout.txt")
    infringing = parse_optout_list(open("sample_data/infringing_domains.txt", encoding="utf-8").read(),
                                   "sample_data/infringing_domains.txt")
    names = parse_name_list(open("sample_data/name_optout.txt", encoding="utf-8").read(), "sample_data/name_optout.txt")
    cfg = FilterConfig(output=str(tmp_path / "out"), columns=column_map("laion"), policy=load_policy("permissive"),
                       signals_dir="sample_data/signals", optout=optout, infringing=infringing, name_optout=names)
    p = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    p | beam.Create(files) | FilterShards(cfg, shard_names(files))
    run = p.run()
    run.wait_until_finish()
    counters = {r.key.metric.name: r.committed
                for r in run.metrics().query(MetricsFilter().with_namespace("license_filter"))["counters"]}
    golden = json.loads(open(Path(__file__).resolve().parents[1] / "e2e" / "golden" / "sample_summary.json", encoding="utf-8").read())  # the same run's audit
    acct = golden["accounting"]
    assert counters["rows_read"] == acct["input_rows"] == 383
    assert (counters["rows_kept"], counters["rows_rejected"]) == (acct["kept"], acct["rejected"])
    assert {k[len("reason."):]: v for k, v in counters.items() if k.startswith("reason.")} == golden["by_reason"]
    assert {k[len("source."):]: v for k, v in counters.items() if k.startswith("source.")} == golden["drops_by_source"]
    assert ({k[len("license_class."):]: v for k, v in counters.items() if k.startswith("license_class.")}
            == golden["by_license_class"])
