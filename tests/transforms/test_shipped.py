"""Lists travel to the workers as a file in the staging folder, by (path, sha256): what a DoFn pickles
stays small whatever the list's size, another process gets the same list back, and a file changed
under the run fails it instead of being read as some other list."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from apache_beam.internal import pickler

from license_rules.optout import parse_optout_list
from license_rules.policy import load_policy
from transforms import shipped
from transforms.columns import COLUMN_PRESETS
from transforms.filtering import FilterConfig
from transforms.shipped import SHIPPED_DIR, Shipped, ShippedChanged, resolve, ship

ROOT = Path(__file__).resolve().parents[2]


def big_list(n: int):
    return parse_optout_list("\n".join(f"host{i}.domain{i % 97}.example" for i in range(n)) + "\n", name="big.txt")


def test_shipped_value_pickles_as_a_reference_and_comes_back_equal(tmp_path):
    value = big_list(20_000)
    ref = ship(value, str(tmp_path), "optout")
    files = list((tmp_path / SHIPPED_DIR).iterdir())
    assert [f.name for f in files] == [Path(ref.path).name] and ref.path.startswith(str(tmp_path / SHIPPED_DIR))
    assert len(pickle.dumps(ref)) < 400  # the reference, not the 20,000 domains
    assert ref.get() is value  # the launcher's own process: its object, no read
    # another process: read from the file, digest checked, the same list
    script = ("import pickle, sys; ref = pickle.loads(sys.stdin.buffer.read()); v = ref.get(); "
              "print(v.entries, len(v.domains), v.sha256, v.match_host('a.host7.domain7.example'))")
    proc = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(ref), capture_output=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["20000", "20000", value.sha256, "host7.domain7.example"]
    assert ship(None, str(tmp_path), "optout") is None and resolve(None) is None and resolve(value) is value


def test_shipping_the_same_value_twice_writes_one_file(tmp_path):
    a = ship(big_list(100), str(tmp_path), "optout")
    b = ship(big_list(100), str(tmp_path), "optout")
    assert a == b and a.path == b.path
    assert len(list((tmp_path / SHIPPED_DIR).iterdir())) == 1


@pytest.mark.parametrize("damage", ["changed", "gone"])
def test_a_shipped_file_changed_or_gone_fails_and_is_never_read_as_a_list(tmp_path, damage):
    ref = ship(big_list(50), str(tmp_path), "optout")
    remote = pickle.loads(pickle.dumps(ref))  # what a worker gets
    shipped._LOADED.clear()  # a worker process: nothing loaded yet
    path = Path(ref.path)
    if damage == "changed":
        path.write_bytes(pickle.dumps(parse_optout_list("other.example\n", name="evil.txt")))
        with pytest.raises(ShippedChanged, match=rf"{path.name}: sha256 [0-9a-f]{{64}} is not the {ref.sha256}"):
            remote.get()
    else:
        path.unlink()
        with pytest.raises(ShippedChanged, match=rf"{path.name}: the run's shipped copy cannot be read"):
            remote.get()


def test_filter_config_pickled_by_beam_stays_small_however_long_the_lists():
    """Beam pickles each DoFn with cloudpickle + bz2 level 9, several times per run: with the list inside,
    that cost (and the pipeline proto) grew with the list."""
    import tempfile

    lst = big_list(100_000)
    base = dict(output="/tmp/x", columns=COLUMN_PRESETS["laion"], policy=load_policy("permissive"))
    inline = len(pickler.dumps(FilterConfig(optout=lst, **base)))
    with tempfile.TemporaryDirectory() as folder:
        by_ref = pickler.dumps(FilterConfig(optout=ship(lst, folder, "optout"), **base))
        assert len(by_ref) < 8_000 < inline
        back = pickler.loads(by_ref)
        assert isinstance(back.optout, Shipped) and resolve(back.optout).entries == 100_000


def test_worker_processes_read_the_shipped_lists_and_decide_like_one_process(tmp_path):
    """Two worker processes (multi_processing) get the three lists only through the staging folder: every
    row is decided as in a one-process run (the opted-out, infringing-domain and named rows among them), and the published output holds
    no shipped file (the staging folder goes with the run)."""
    import glob
    import json

    import pyarrow.parquet as pq

    sample = ROOT / "sample_data"
    common = [sys.executable, "-m", "pipelines.cli", "filter", "--input", str(sample / "shards" / "*.parquet"),
              "--signals", str(sample / "signals"), "--optout-list", str(sample / "optout.txt"),
              "--infringing-list", str(sample / "infringing_domains.txt"), "--name-optout-list",
              str(sample / "name_optout.txt"), "--write-rejected",
              "--quiet"]
    reasons = {}
    for mode, extra in (("one", []), ("two", ["--direct_num_workers=2", "--direct_running_mode=multi_processing"])):
        out = tmp_path / mode
        proc = subprocess.run(common + ["--output", str(out)] + extra, cwd=ROOT, capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert not [p for p in glob.glob(str(out / "**"), recursive=True) if SHIPPED_DIR in p]
        assert json.loads((out / "audit" / "summary.json").read_text())["accounting"]["ok"] is True
        rows = {}
        for kind in ("kept", "rejected"):
            for f in sorted(glob.glob(str(out / kind / "*.parquet"))):
                t = pq.read_table(f, columns=["SAMPLE_ID", "URL", "lf_reason"])
                for sid, url, reason in zip(*(t.column(c).to_pylist() for c in ("SAMPLE_ID", "URL", "lf_reason")),
                                            strict=True):
                    rows[sid] = (url, kind, reason)
        reasons[mode] = rows
    assert reasons["two"] == reasons["one"]  # every row, its output and its reason
    by_reason = {}
    for _, _, reason in reasons["two"].values():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    assert by_reason.get("infringing_domain", 0) >= 1 and by_reason.get("name_optout", 0) >= 1, sorted(by_reason.items())
    listed = [r for r in reasons["two"].values() if r[2] == "optout_list"]
    assert len(listed) >= 10 and all(r[1] == "rejected" and ("optout-list.example.com/" in r[0] or "/listed/" in r[0]
                                                             or "opted-out" in r[0]) for r in listed)
