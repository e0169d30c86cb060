"""The closed set of decision reasons: the audit's keys.

Every row gets exactly one *primary* reason and the list of every contributing reason. The order
of ``Reason`` is the precedence used to pick the primary reason among several: problems with the
row itself first, then the license (cheap, decided from in-row data), then reservations by
machine-readable opt-out (most specific first), then missing or unreachable evidence.
"""
from __future__ import annotations

import enum

__all__ = ["Reason", "REASON_DOCS", "KEEP_REASONS", "SOURCE_REASONS", "primary_reason"]


class Reason(str, enum.Enum):
    URL_INVALID = "url_invalid"
    LICENSE_MISSING = "license_missing"
    LICENSE_UNRECOGNISED = "license_unrecognised"
    LICENSE_CLASS_NOT_ALLOWED = "license_class_not_allowed"
    ITEM_LICENSE_NONFREE = "item_license_nonfree"
    ITEM_LICENSE_UNKNOWN = "item_license_unknown"
    OPTOUT_LIST = "optout_list"
    REGISTRY_OPTOUT = "registry_optout"
    ROBOTS_DISALLOWED = "robots_disallowed"
    TDMREP_RESERVED = "tdmrep_reserved"
    CONTENT_USAGE_RESERVED = "content_usage_reserved"
    CONTENT_SIGNAL_RESERVED = "content_signal_reserved"
    AITXT_DISALLOWED = "aitxt_disallowed"
    X_ROBOTS_TAG_RESERVED = "x_robots_tag_reserved"
    SOURCE_UNREACHABLE = "source_unreachable"
    SIGNALS_MISSING = "signals_missing"
    KEPT = "kept"
    KEPT_LICENSE_OVER_OPTOUT = "kept_license_over_optout"
    KEPT_UNREACHABLE_IGNORED = "kept_unreachable_ignored"

    def __str__(self) -> str:  # the audit key
        return self.value


REASON_DOCS: dict[Reason, str] = {
    Reason.URL_INVALID: "The URL is null, empty, not http(s), or has a malformed host or port; nothing can be checked.",
    Reason.LICENSE_MISSING: "No license in the row (LICENSE null, empty or LAION's '?'); unknown license fails closed.",
    Reason.LICENSE_UNRECOGNISED: "The LICENSE value looks like Creative Commons but names no known license (e.g. cut before the unit).",
    Reason.LICENSE_CLASS_NOT_ALLOWED: "The license's class (e.g. non-commercial) is not kept by the policy.",
    Reason.ITEM_LICENSE_NONFREE: "The image's own page (Wikimedia API extmetadata NonFree) marks the file non-free; it overrides the LICENSE column.",
    Reason.ITEM_LICENSE_UNKNOWN: "The image's own license (Commons/Flickr API) is no recognised license, or the file/photo no longer exists; fails closed.",
    Reason.OPTOUT_LIST: "The URL, host or registered domain is on a local opt-out list.",
    Reason.REGISTRY_OPTOUT: "An opt-out registry (Spawning Do-Not-Train API shape) lists the URL as opted out.",
    Reason.ROBOTS_DISALLOWED: "robots.txt disallows the image URL for at least one AI-training product token.",
    Reason.TDMREP_RESERVED: "W3C TDMRep (tdmrep.json or tdm-reservation header) reserves text-and-data mining.",
    Reason.CONTENT_USAGE_RESERVED: "An IETF aipref Content-Usage statement (robots.txt line or header) says train-ai=n.",
    Reason.CONTENT_SIGNAL_RESERVED: "A Cloudflare Content-Signal line in robots.txt says ai-train=no.",
    Reason.AITXT_DISALLOWED: "Spawning ai.txt disallows the image URL's path.",
    Reason.X_ROBOTS_TAG_RESERVED: "The image's X-Robots-Tag header carries noai/noimageai (or noindex, if the policy counts it).",
    Reason.SOURCE_UNREACHABLE: "A signal source could not be fetched (5xx, 429, timeout, network/TLS error, bot wall, blocked address); fails closed.",
    Reason.SIGNALS_MISSING: "The signals snapshot holds no record for the row's authority (or a required per-URL check); fails closed.",
    Reason.KEPT: "Kept: the license class is allowed and no checked source reserves AI training.",
    Reason.KEPT_LICENSE_OVER_OPTOUT: "Kept because the policy lets an allowed license beat an opt-out (optout.beats_license = false).",
    Reason.KEPT_UNREACHABLE_IGNORED: "Kept although a source was unreachable, because the policy says on_unreachable = \"ignore\".",
}

KEEP_REASONS = frozenset({Reason.KEPT, Reason.KEPT_LICENSE_OVER_OPTOUT, Reason.KEPT_UNREACHABLE_IGNORED})

#: Which reason a reserving signal source yields.
SOURCE_REASONS: dict[str, Reason] = {
    "optout_list": Reason.OPTOUT_LIST,
    "registry": Reason.REGISTRY_OPTOUT,
    "robots": Reason.ROBOTS_DISALLOWED,
    "tdmrep": Reason.TDMREP_RESERVED,
    "content_usage": Reason.CONTENT_USAGE_RESERVED,
    "content_signal": Reason.CONTENT_SIGNAL_RESERVED,
    "ai_txt": Reason.AITXT_DISALLOWED,
    "x_robots_tag": Reason.X_ROBOTS_TAG_RESERVED,
}

_ORDER = {reason: i for i, reason in enumerate(Reason)}


def primary_reason(reasons) -> Reason:
    """The reason of highest precedence among ``reasons`` (non-empty)."""
    return min(reasons, key=_ORDER.__getitem__)
