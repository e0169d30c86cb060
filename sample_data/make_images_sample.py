"""Regenerate the images stage's sample: ``python sample_data/make_images_sample.py``.

Writes ``sample_data/images/``: one img2dataset webdataset shard (``00000.tar`` + its metadata
``00000.parquet``) whose small images carry every embedded signal the images stage reads, so that
``license-filter images --input sample_data/images --output images-out`` shows each reason offline.
The C2PA manifests are signed with a throwaway certificate chain made on the spot (no key is kept),
so their signer reads as untrusted: the reservations still count. URLs are on reserved names.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.imagekit import (  # noqa: E402 - the repository's test helpers make the files
    BY,
    BY_NC,
    CC0,
    VOCAB,
    c2pa_sign,
    jpeg,
    png,
    sample_meta,
    tiff,
    training_assertion,
    webp,
    write_webdataset,
    xmp,
)

#: key -> (what the sample shows, the reason the permissive policy gives it)
EXPECTED = {
    "000000000": ("plain JPEG, row licence CC BY", "kept"),
    "000000001": ("embedded CC0 agrees with a kept row", "kept"),
    "000000002": ("PNG: plus:DataMining DMI-PROHIBITED-AIMLTRAINING", "iptc_data_mining_reserved"),
    "000000003": ("WebP: tdm:reservation = 1", "tdmrep_xmp_reserved"),
    "000000004": ("JPEG: cc:license BY-NC on a row labelled BY", "embedded_license_not_allowed"),
    "000000005": ("JPEG: C2PA cawg.training-mining ai_training notAllowed (untrusted signer)",
                  "content_credentials_reserved"),
    "000000006": ("JPEG: C2PA c2pa.training-mining data_mining constrained", "content_credentials_reserved"),
    "000000007": ("JPEG: an entity-expansion XMP packet", "image_metadata_unreadable"),
    "000000008": ("no image bytes (download failed)", "image_missing"),
    "000000009": ("TIFF: cc:license BY on a row labelled BY-NC", "kept"),
    "000000010": ("an HTML page saved as .jpg", "image_metadata_unreadable"),
}

BOMB = (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>')


def samples() -> list[tuple[str, bytes | None, dict]]:
    def meta(key, licence=BY):
        return sample_meta(key, f"https://images.example.org/{key}.jpg", license_value=licence)

    return [
        ("000000000", jpeg(), meta("000000000")),
        ("000000001", jpeg(xmp(f'cc:license="{CC0}"')), meta("000000001", CC0)),
        ("000000002", png(xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"')), meta("000000002")),
        ("000000003", webp(xmp('tdm:reservation="1"', "<tdm:policy>https://images.example.org/tdm.json</tdm:policy>")),
         meta("000000003")),
        ("000000004", jpeg(xmp(body=f'<cc:license rdf:resource="{BY_NC}"/>')), meta("000000004")),
        ("000000005", c2pa_sign(jpeg(), "image/jpeg", [training_assertion(ai_training="notAllowed")]),
         meta("000000005")),
        ("000000006", c2pa_sign(jpeg(), "image/jpeg", [training_assertion("c2pa.training-mining",
                                                                          data_mining="constrained")]),
         meta("000000006")),
        ("000000007", jpeg(BOMB), meta("000000007")),
        ("000000008", None, {**meta("000000008"), "status": "failed_to_download"}),
        ("000000009", tiff(xmp(f'cc:license="{BY}"'), copyright_text="(c) Example Photographer"),
         meta("000000009", BY_NC)),
        ("000000010", b"<!DOCTYPE html><html><body>Access denied</body></html>", meta("000000010")),
    ]


def main() -> None:
    out = HERE / "images"
    path = write_webdataset(out, "00000", samples())
    print(f"wrote {path} and {out / '00000.parquet'}")


if __name__ == "__main__":
    main()
