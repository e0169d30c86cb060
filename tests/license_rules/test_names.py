"""Caption name opt-outs (license_rules/names.py) and their place in the batch decision."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from license_rules.names import NameListError, fold_text, parse_name_list
from license_rules.policy import load_policy
from license_rules.reasons import Reason
from transforms.annotate import annotate_table
from transforms.decide import BatchDecider
from transforms.names import caption_name_hits, fold

LIST = "# version: 2026-12\nJane Q. Painter | J. Q. Painter\nStraße Künstler\nAnn Lee\nŌkami\n"


@pytest.mark.parametrize("caption, person", [
    ("Portrait by JANE Q. PAINTER, oil", 0),
    ("sketch, j. q. painter", 0),
    ("ｊａｎｅ　ｑ．　ｐａｉｎｔｅｒ fullwidth", 0),  # NFKC
    ("by STRASSE KÜNSTLER", 1),  # ß folds to ss
    ("Ann Lee.", 2),
    ("ŌKAMI print", 3),  # non-ASCII upper case folds
    ("okami print", -1),  # diacritics are not stripped
    ("Joann Leeds photo", -1),  # word boundaries
    ("Jane Q. Painters guild", -1),
    ("Ann Lee_2", -1),
    (None, -1),
    ("", -1),
])
def test_policy_name_matching_nfkc_casefold_word_boundaries(caption, person):
    names = parse_name_list(LIST, "n.txt")
    hits = caption_name_hits(names, pa.array(["filler", caption, "Ann Lee"], pa.string()))
    assert hits.tolist() == [-1, person, 2]


def test_policy_name_list_version_and_errors():
    names = parse_name_list(LIST, "n.txt")
    assert (names.version, names.entries) == ("2026-12", 4)
    with pytest.raises(NameListError, match="n.txt:2: empty name"):
        parse_name_list("Ok\nJane || Doe\n", "n.txt")


@pytest.mark.parametrize("text", ["Straße", "ΟΔΟΣ", "ｊａｎｅ", "Ōkami", "İstanbul", "ǅemal", "ﬁsh", "Ⅻ"])
def test_policy_names_and_captions_fold_alike(text):
    assert fold(pa.array([text])).to_pylist() == [fold_text(text)]


def test_policy_batch_decision_drops_named_captions_with_evidence():
    names = parse_name_list(LIST, "n.txt")
    decider = BatchDecider(load_policy("permissive"), None, None, names=names)
    table = pa.table({"URL": ["http://a.example/1.jpg", "http://a.example/2.jpg"],
                      "TEXT": ["by Ann Lee", "a cat"],
                      "LICENSE": ["https://creativecommons.org/licenses/by/4.0/"] * 2})
    table = annotate_table(table, "URL", "LICENSE")
    _, index = decider.decide_table(table, "LICENSE", "URL", "TEXT")
    cols = index.columns(np.arange(2), with_reasons=True)
    reasons = cols["lf_reasons"].to_pylist()
    assert Reason.NAME_OPTOUT.value in reasons[0] and Reason.NAME_OPTOUT.value not in reasons[1]
    ev = [e for e in json.loads(cols["lf_evidence"][0].as_py()) if e["source"] == "name_optout"]
    assert ev == [{"source": "name_optout", "verdict": "deny", "detail": "caption names 'Ann Lee', on n.txt (2026-12)"}]


def test_policy_names_benchmark_smoke_agrees_with_the_regex_baseline():
    from benchmarks.names_bench import run

    res = run(n_names=300, n_captions=3000, baseline_captions=3000, batch=1000)
    assert res["baseline_agrees_on_subset"] is True and res["caption_hits"] > 0
