"""The closed set of decision reasons: the audit's keys.

Every row gets exactly one *primary* reason and the list of every contributing reason. The order
of ``Reason`` is the precedence used to pick the primary reason among several: problems with the
row itself first, then the license (cheap, decided from in-row data), then reservations by
machine-readable opt-out (most specific first), then missing or unreachable evidence.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["Reason", "REASON_DOCS", "KEEP_REASONS", "SOURCE_REASONS", "primary_reason"]


class Reason(str, enum.Enum):
    URL_INVALID = "url_invalid"
    IMAGE_MISSING = "image_missing"
    EMBEDDED_LICENSE_NOT_ALLOWED = "embedded_license_not_allowed"
    LICENSE_MISSING = "license_missing"
    LICENSE_UNRECOGNISED = "license_unrecognised"
    LICENSE_RESTRICTED = "license_restricted"
    LICENSE_CLASS_NOT_ALLOWED = "license_class_not_allowed"
    ITEM_LICENSE_NONFREE = "item_license_nonfree"
    ITEM_LICENSE_UNKNOWN = "item_license_unknown"
    INFRINGING_DOMAIN = "infringing_domain"
    OPTOUT_LIST = "optout_list"
    REGISTRY_OPTOUT = "registry_optout"
    NAME_OPTOUT = "name_optout"
    ROBOTS_DISALLOWED = "robots_disallowed"
    RSL_RESERVED = "rsl_reserved"
    TDMREP_RESERVED = "tdmrep_reserved"
    CONTENT_USAGE_RESERVED = "content_usage_reserved"
    CONTENT_SIGNAL_RESERVED = "content_signal_reserved"
    AITXT_DISALLOWED = "aitxt_disallowed"
    X_ROBOTS_TAG_RESERVED = "x_robots_tag_reserved"
    IPTC_DATA_MINING_RESERVED = "iptc_data_mining_reserved"
    TDMREP_XMP_RESERVED = "tdmrep_xmp_reserved"
    CONTENT_CREDENTIALS_RESERVED = "content_credentials_reserved"
    USE_CONDITIONAL = "use_conditional"
    SOURCE_UNREACHABLE = "source_unreachable"
    SIGNALS_MISSING = "signals_missing"
    IMAGE_METADATA_UNREADABLE = "image_metadata_unreadable"
    KEPT = "kept"
    KEPT_LICENSE_OVER_OPTOUT = "kept_license_over_optout"
    KEPT_UNREACHABLE_IGNORED = "kept_unreachable_ignored"

    def __str__(self) -> str:  # the audit key
        return self.value


REASON_DOCS: dict[Reason, str] = {
    Reason.URL_INVALID: "The URL is null, empty, not http(s), or has a malformed host or port; nothing can be checked.",
    Reason.IMAGE_MISSING: "The sample has no image bytes (its download failed, or the file is missing from the shard); nothing can be checked.",
    Reason.EMBEDDED_LICENSE_NOT_ALLOWED: "The image file's own licence (XMP cc:license, or a licence URL in xmpRights) is not kept by the policy; it overrides the row's LICENSE column.",
    Reason.LICENSE_MISSING: "No license in the row (LICENSE null, empty or LAION's '?'); unknown license fails closed.",
    Reason.LICENSE_UNRECOGNISED: "The LICENSE value looks like Creative Commons but names no known license (e.g. cut before the unit).",
    Reason.LICENSE_RESTRICTED: "The LICENSE value reserves all rights (\"All rights reserved\", a copyright notice): class restricted, never kept.",
    Reason.LICENSE_CLASS_NOT_ALLOWED: "The license's class (e.g. non-commercial) is not kept by the policy.",
    Reason.ITEM_LICENSE_NONFREE: "The image's own page (Wikimedia API extmetadata NonFree) marks the file non-free; it overrides the LICENSE column.",
    Reason.ITEM_LICENSE_UNKNOWN: "The image's own license (Commons/Flickr API) is no recognised license, or the file/photo no longer exists; fails closed.",
    Reason.INFRINGING_DOMAIN: "The host or registered domain is on the infringing-domains list (EU GPAI Code of Practice, copyright measure 1.2).",
    Reason.OPTOUT_LIST: "The URL, host or registered domain is on a local opt-out list.",
    Reason.REGISTRY_OPTOUT: "An opt-out registry (Spawning Do-Not-Train API shape) lists the URL as opted out.",
    Reason.NAME_OPTOUT: "The caption names a person on the name opt-out list (--name-optout-list; NFKC case-folded, whole words).",
    Reason.ROBOTS_DISALLOWED: "robots.txt disallows the image URL for at least one AI-training product token.",
    Reason.RSL_RESERVED: "An RSL 1.0 license (robots.txt License: or Link rel=license) prohibits AI training for the URL.",
    Reason.TDMREP_RESERVED: "W3C TDMRep (tdmrep.json or tdm-reservation header) reserves text-and-data mining.",
    Reason.CONTENT_USAGE_RESERVED: "An IETF aipref Content-Usage statement (robots.txt line or header) says train-ai=n.",
    Reason.CONTENT_SIGNAL_RESERVED: "A Cloudflare Content-Signal line in robots.txt says ai-train=no.",
    Reason.AITXT_DISALLOWED: "Spawning ai.txt disallows the image URL's path.",
    Reason.X_ROBOTS_TAG_RESERVED: "The image's X-Robots-Tag header carries noai/noimageai (or noindex, if the policy counts it).",
    Reason.IPTC_DATA_MINING_RESERVED: "The image's IPTC/PLUS Data Mining property (plus:DataMining) prohibits AI/ML training or data mining.",
    Reason.TDMREP_XMP_RESERVED: "The image's XMP carries the W3C TDMRep property tdm:reservation = 1.",
    Reason.CONTENT_CREDENTIALS_RESERVED: "A C2PA/CAWG training-mining assertion in the image says notAllowed or constrained (signature trust recorded, not required).",
    Reason.USE_CONDITIONAL: "AI training is permitted only on conditions (RSL payment or license server, CC signals exceptions); the policy drops conditional use.",
    Reason.SOURCE_UNREACHABLE: "A signal source could not be fetched (5xx, 429, timeout, network/TLS error, bot wall, blocked address); fails closed.",
    Reason.SIGNALS_MISSING: "The signals snapshot holds no record for the row's authority (or a required per-URL check); fails closed.",
    Reason.IMAGE_METADATA_UNREADABLE: "The image's embedded metadata (XMP, EXIF, C2PA store) is malformed, hostile, truncated or over the size cap; fails closed.",
    Reason.KEPT: "Kept: the license class is allowed and no checked source reserves AI training.",
    Reason.KEPT_LICENSE_OVER_OPTOUT: "Kept because the policy lets an allowed license beat an opt-out (optout.beats_license = false).",
    Reason.KEPT_UNREACHABLE_IGNORED: "Kept although a source was unreachable, because the policy says on_unreachable = \"ignore\".",
}

KEEP_REASONS = frozenset({Reason.KEPT, Reason.KEPT_LICENSE_OVER_OPTOUT, Reason.KEPT_UNREACHABLE_IGNORED})

#: Which reason a reserving signal source yields.
SOURCE_REASONS: dict[str, Reason] = {
    "infringing_list": Reason.INFRINGING_DOMAIN,
    "optout_list": Reason.OPTOUT_LIST,
    "registry": Reason.REGISTRY_OPTOUT,
    "name_optout": Reason.NAME_OPTOUT,
    "robots": Reason.ROBOTS_DISALLOWED,
    "rsl": Reason.RSL_RESERVED,
    "tdmrep": Reason.TDMREP_RESERVED,
    "content_usage": Reason.CONTENT_USAGE_RESERVED,
    "content_signal": Reason.CONTENT_SIGNAL_RESERVED,
    "ai_txt": Reason.AITXT_DISALLOWED,
    "x_robots_tag": Reason.X_ROBOTS_TAG_RESERVED,
    "xmp_license": Reason.EMBEDDED_LICENSE_NOT_ALLOWED,
    "iptc": Reason.IPTC_DATA_MINING_RESERVED,
    "tdmrep_xmp": Reason.TDMREP_XMP_RESERVED,
    "c2pa": Reason.CONTENT_CREDENTIALS_RESERVED,
}

_ORDER = {reason: i for i, reason in enumerate(Reason)}


def primary_reason(reasons: Iterable[Reason]) -> Reason:
    """The reason of highest precedence among ``reasons`` (non-empty)."""
    return min(reasons, key=_ORDER.__getitem__)
