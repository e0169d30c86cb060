"""The audit page is rendered from Jinja2 templates shipped as package data, with autoescaping on."""
from __future__ import annotations

from importlib import resources

from pipelines import report


def test_policy_report_templates_ship_as_package_data_and_autoescape():
    names = {p.name for p in resources.files("pipelines").joinpath("templates").iterdir()}
    assert {"_page.html", "_macros.html", "report.html", "images_report.html", "report.css"} <= names
    env = report.template_environment()
    assert env.autoescape is True
    template = env.from_string("{{ value }}")
    assert template.render(value="<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"


def test_policy_report_manifest_values_escaped_in_every_kind_of_cell():
    hostile = "<i>x</i>"
    manifest = {"policy": {"id": hostile, "keep_classes": [hostile], "sources": [hostile], "extra": {"k": hostile}},
                "columns": {"url": hostile}, "options": {"list": [hostile], "nested": [{"a": hostile}]},
                "signals": {"file": hostile, "inputs": [hostile]}, "optout_lists": [{"path": hostile}]}
    page = report.render_report({"errors": [hostile]}, manifest)
    assert "<i>" not in page and page.count("&lt;i&gt;x&lt;/i&gt;") >= 8


def test_policy_every_reason_has_its_funnel_group():
    """A reason missing here would be drawn and counted as 'Signals unreachable or missing' (the fallback)."""
    from license_rules.reasons import Reason
    from pipelines.report import REASON_GROUP_OF, REASON_GROUPS

    assert {reason.value for reason in Reason} - set(REASON_GROUP_OF) == set()
    assert set(REASON_GROUP_OF.values()) <= set(REASON_GROUPS)
    assert REASON_GROUP_OF["item_license_nonfree"] == REASON_GROUP_OF["license_class_not_allowed"] == "license"
