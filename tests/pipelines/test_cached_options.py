"""pipelines.cached_options: one view per options class, same behaviour as Beam's own views."""
from __future__ import annotations

import pickle

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions, TypeOptions

from pipelines.beam_options import pipeline_options
from pipelines.cached_options import CachedViewOptions


def test_the_cli_options_hand_out_one_view_per_class():
    opts = pipeline_options(["--direct_num_workers=2"])
    assert isinstance(opts, CachedViewOptions)
    assert opts.view_as(DirectOptions) is opts.view_as(DirectOptions)  # built once, not per apply()
    assert opts.view_as(DirectOptions).direct_num_workers == 2
    assert opts.view_as(StandardOptions).runner == "FnApiRunner"


def test_a_value_set_through_a_view_is_seen_by_every_view_and_the_options():
    opts = CachedViewOptions(["--runner=FnApiRunner"])
    opts.view_as(TypeOptions).pipeline_type_check = False
    assert opts.view_as(TypeOptions).pipeline_type_check is False
    assert opts.get_all_options()["pipeline_type_check"] is False
    plain = PipelineOptions(["--runner=FnApiRunner"])
    plain.view_as(TypeOptions).pipeline_type_check = False
    assert opts.get_all_options() == plain.get_all_options()  # what Beam's own views would give


def test_options_pickle_without_their_views_and_make_them_again():
    opts = CachedViewOptions(["--direct_num_workers=3"])
    opts.view_as(DirectOptions)
    back = pickle.loads(pickle.dumps(opts))
    assert back.get_all_options() == opts.get_all_options()
    assert back.view_as(DirectOptions).direct_num_workers == 3
    assert back.view_as(DirectOptions) is not opts.view_as(DirectOptions)
