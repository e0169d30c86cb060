"""transforms.heap: the garbage collector's settings for a filter worker.

The process-wide checks run in a fresh interpreter (a subprocess), so that the test session's own
collector state neither hides a missing call nor is changed by these tests."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from transforms.heap import THRESHOLDS

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tune_raises_thresholds_and_never_lowers_one():
    got = _run("""
        import gc, json
        from transforms import heap
        gc.set_threshold(700, 50, 10)
        heap.tune()
        print(json.dumps({"after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
    """)
    assert got["after"] == [THRESHOLDS[0], 50, THRESHOLDS[2]]
    assert got["frozen"] == 0  # tune alone freezes nothing


def test_settle_freezes_what_lives_and_collects_garbage_first():
    got = _run("""
        import gc, json, weakref
        from transforms import heap

        class Node:
            pass

        live = Node()
        garbage = Node(); garbage.me = garbage  # a reference cycle, unreachable once deleted
        dead = weakref.ref(garbage)
        del garbage
        gc.disable()  # nothing collects it before settle does
        heap.settle()
        print(json.dumps({"garbage_collected": dead() is None, "live_frozen": gc.get_freeze_count() > 0,
                          "live_untracked_by_collections": live not in gc.get_objects(),
                          "threshold": gc.get_threshold()}))
    """)
    assert got == {"garbage_collected": True, "live_frozen": True, "live_untracked_by_collections": True,
                   "threshold": list(THRESHOLDS)}


def test_filter_worker_settles_after_loading_the_snapshot():
    """The policy DoFn's setup (the snapshot index, the lists) ends by settling the heap: the snapshot
    index is among the frozen objects, so no later collection walks it."""
    got = _run("""
        import gc, json
        from license_rules.policy import load_policy
        from transforms.columns import column_map
        from transforms.filtering import FilterConfig, _ApplyPolicyFn

        cfg = FilterConfig(output="unused", columns=column_map("laion"), policy=load_policy("permissive"),
                           signals_dir="sample_data/signals")
        before = gc.get_freeze_count()
        fn = _ApplyPolicyFn(cfg)
        fn.setup()
        decider = fn._ready()
        print(json.dumps({"before": before, "after": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                          "index_frozen": decider.signals not in gc.get_objects()}))
    """)
    assert got["before"] == 0
    assert got["after"] > 0
    assert got["index_frozen"] is True
    assert got["threshold"] == list(THRESHOLDS)


def test_one_command_per_process_settles_without_a_full_collection():
    """The console script runs one command per process: settling freezes what the launch left without
    the full collection's walk. The garbage cycle is frozen, not collected (it stays reachable from
    nothing, and goes with the process); a test session never declares it, so it keeps collecting."""
    got = _run("""
        import gc, json, weakref
        from transforms import heap

        class Node:
            pass

        garbage = Node(); garbage.me = garbage
        dead = weakref.ref(garbage)
        del garbage
        gc.disable()
        heap.one_command_per_process()
        heap.settle()
        print(json.dumps({"garbage_collected": dead() is None, "frozen": gc.get_freeze_count() > 0,
                          "threshold": gc.get_threshold()}))
    """)
    assert got == {"garbage_collected": False, "frozen": True, "threshold": list(THRESHOLDS)}


def test_the_console_script_declares_one_command_per_process_and_a_call_with_argv_does_not():
    got = _run("""
        import json, sys
        from pipelines import cli
        from transforms import heap

        try:
            cli.main(["no-such-command"])
        except SystemExit:
            pass
        with_argv = heap._ONE_COMMAND[0]
        cli._exit_now = lambda code: None  # the console script's exit, kept from ending this check
        sys.argv = ["license-filter", "no-such-command"]
        try:
            cli.main()
        except SystemExit:
            pass
        print(json.dumps({"with_argv": with_argv, "console_script": heap._ONE_COMMAND[0]}))
    """)
    assert got == {"with_argv": False, "console_script": True}
