"""Regenerate the sample shards (deterministic): ``python sample_data/make_sample.py``.

Writes four LAION-400M-style shards (all eight columns, LAION's types) to ``sample_data/shards/``,
one LAION-5B-joined-style shard and one img2dataset-style shard to ``sample_data/other/``. Every
URL is on a reserved name (example.com/.net/.org, *.example, *.test) or a documentation address,
except the item-license rows on upload.wikimedia.org and Flickr hosts (invented files, answered by
the local fixture API); the hosts are the fixture web in ``sample_data/web/`` so that every
decision reason occurs.
"""
from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent

LAION_SCHEMA = pa.schema([
    ("SAMPLE_ID", pa.int64()), ("URL", pa.string()), ("TEXT", pa.string()), ("HEIGHT", pa.int32()),
    ("WIDTH", pa.int32()), ("LICENSE", pa.string()), ("NSFW", pa.string()), ("similarity", pa.float64()),
])

BY = [
    "http://creativecommons.org/licenses/by/2.0/",
    "https://creativecommons.org/licenses/by/4.0/deed.en",
    "creativecommons.org/licenses/by/3.0/",
    "http://www.creativecommons.org/licenses/by/2.5/",
    "http://creativecommons.org/licenses/by/3.0/de/deed.de",
    "http://creativecommons.org/licenses/by/3.0/legalcode",
    "http://creativecommons.org/licenses/by/2.0/?ref=chooser-v1",
    "HTTP://CREATIVECOMMONS.ORG/LICENSES/BY/4.0/",
    "http://i.creativecommons.org/l/by/3.0/88x31.png",
    "http://creativecommons.org/licenses/by/3.0/br/deed.pt_BR",
    "http://creativecommons.org/licenses/by/2.1/jp/",
    # LAION cut the link at 80 characters: the version survives, the rest is gone
    "http://creativecommons.org/licenses/by/2.0/deed.en_GB?utm_source=gallery&utm_medi"[:80],
]
PD = [
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "https://creativecommons.org/publicdomain/mark/1.0/",
    "http://creativecommons.org/licenses/publicdomain/",
    "https://licensebuttons.net/p/zero/1.0/88x31.png",
]
OTHER = [
    "http://creativecommons.org/licenses/by-nc/2.0/",
    "http://creativecommons.org/licenses/by-nc-sa/2.0/",
    "http://creativecommons.org/licenses/by-nd/3.0/",
    "http://creativecommons.org/licenses/by-nc-nd/3.0/nl/deed.en_US",
    "http://creativecommons.org/licenses/by-sa/3.0/",
    "https://licensebuttons.net/l/by-sa/4.0/88x31.png",
    "http://creativecommons.org/licenses/sampling+/1.0/",
]
MISSING = ["?", None, ""]
GARBAGE = ["all rights reserved", "http://creativecommons.org/licenses/", "http://creativecommons.org/licenses/by-n"]

# (host, paths, weight): hosts of the fixture web in sample_data/web/
HOSTS = [
    ("www.example.com", ["/photos/{n}.jpg", "/listed/{n}.jpg", "/optout-registry/{n}.jpg"], 10),
    ("images.example.org", ["/img/{n}.png", "/a/b/{n}.jpg"], 6),
    ("cdn.example.net", ["/static/{n}.jpg", "/admin/{n}.jpg"], 4),
    ("robots-gptbot.example.com", ["/p/{n}.jpg"], 3),
    ("robots-all.example.net", ["/{n}.jpg"], 3),
    ("robots-private.example.com", ["/private/{n}.jpg", "/private/public/{n}.jpg"], 3),
    ("ai-wildcard.example.org", ["/pics/{n}.jpg", "/pics/{n}.png"], 3),
    ("tdm-reserved.example.com", ["/i/{n}.jpg"], 3),
    ("tdm-partial.example.net", ["/photos/{n}.jpg", "/other/{n}.jpg"], 3),
    ("content-usage.example.org", ["/{n}.webp"], 3),
    ("content-usage-path.example.com", ["/gallery/{n}.jpg", "/blog/{n}.jpg"], 3),
    ("content-signal.example.net", ["/media/{n}.jpg"], 3),
    ("xrobots-noai.example.com", ["/img/{n}.jpg"], 3),
    ("tokens.example.org", ["/{n}.jpg"], 2),
    ("typos.example.com", ["/{n}.jpg"], 2),
    ("bom.example.org", ["/{n}.jpg"], 2),
    ("crlf.example.com", ["/{n}.jpg"], 2),
    ("cr-only.example.net", ["/{n}.jpg"], 2),
    ("bad-utf8.example.org", ["/{n}.jpg"], 2),
    ("tdm-object.example.com", ["/{n}.jpg"], 2),
    ("link-license.example.org", ["/cc/{n}.jpg"], 2),
    ("error-503.example.com", ["/{n}.jpg"], 2),
    ("ratelimit-429.example.net", ["/{n}.jpg"], 2),
    ("reset.example.org", ["/{n}.jpg"], 2),
    ("timeout.example.com", ["/{n}.jpg"], 2),
    ("slow-drip.example.net", ["/{n}.jpg"], 2),
    ("redirect-loop.example.org", ["/{n}.jpg"], 2),
    ("redirect-other.example.com", ["/{n}.jpg"], 2),
    ("redirect-private.example.net", ["/{n}.jpg"], 2),
    ("huge.example.org", ["/{n}.jpg"], 2),
    ("soft404.example.com", ["/{n}.jpg"], 2),
    ("forbidden.example.net", ["/{n}.jpg"], 2),
    ("optout-list.example.com", ["/{n}.jpg"], 2),
    ("sub.optout-list.example.com", ["/{n}.jpg"], 1),
]

WORDS = ("red fox jumping over a wooden fence at dawn mountain lake reflection vintage car parked "
         "street market in the rain portrait of an old fisherman bowl of ramen with egg city skyline "
         "at night watercolor painting of a lighthouse close-up of a honeybee on lavender").split()


def caption(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 18))).capitalize()


def pick_license(rng: random.Random, host: str) -> str | None:
    r = rng.random()
    if host in ("www.example.com", "images.example.org"):
        pool = BY * 3 + PD * 2 + OTHER + MISSING + GARBAGE
        return rng.choice(pool)
    if host == "link-license.example.org":
        return rng.choice(MISSING)  # the image's own Link: rel="license" header names CC BY 4.0
    if r < 0.75:
        return rng.choice(BY + PD)
    return rng.choice(OTHER + MISSING)


def laion_rows(rng: random.Random, shard: int, n: int, start_id: int) -> list[dict]:
    hosts = [h for h, _, w in HOSTS for _ in range(w)]
    paths = {h: p for h, p, _ in HOSTS}
    rows = []
    for i in range(n):
        host = rng.choice(hosts)
        path = rng.choice(paths[host]).format(n=f"{shard}-{i:03d}")
        rows.append({
            "SAMPLE_ID": start_id + i, "URL": f"http://{host}{path}", "TEXT": caption(rng),
            "HEIGHT": rng.choice([256, 480, 600, 768, 1024]), "WIDTH": rng.choice([256, 512, 640, 800, 1200]),
            "LICENSE": pick_license(rng, host), "NSFW": rng.choice(["UNLIKELY"] * 8 + ["UNSURE", "NSFW"]),
            "similarity": None if rng.random() < 0.05 else round(rng.uniform(0.28, 0.45), 6),
        })
    return rows


def edge_rows(start_id: int) -> list[dict]:
    """URLs and values that exercise every input edge case (null, non-http, IP, IDN, long, huge caption)."""
    by = "http://creativecommons.org/licenses/by/4.0/"
    long_path = "/very/long/" + "segment-" * 248 + "end.jpg"  # about 2,000 characters
    longer = "/longer/" + "x" * 2990 + ".jpg"  # about 3,000 characters
    values = [
        (None, by), ("", by), ("ftp://files.example.com/a.jpg", by), ("data:image/png;base64,iVBORw0KGgo=", by),
        ("http://192.0.2.10/images/a.jpg", by), ("http://[2001:db8::1]/b.jpg", by),
        ("http://bücher.example/c.jpg", by), ("http://www.example.com" + long_path, by),
        ("http://images.example.org" + longer, by), ("http://www .example.com/space.jpg", by),
        ("http://www.example.com:99999/port.jpg", by), ("//www.example.com/scheme-relative.jpg", by),
        ("https://www.example.com/tls-only.jpg", by), ("http://www.example.com/listed/exact.jpg", by),
        ("http://WWW.EXAMPLE.COM/photos/UPPER.jpg", by), ("http://images.example.org/dup.jpg", by),
        ("http://images.example.org/dup.jpg", by),  # duplicate row, kept twice: rows are not de-duplicated
        ("http://uncrawled.test/never-fetched.jpg", by),
    ]
    rows = []
    for i, (url, lic) in enumerate(values):
        rows.append({"SAMPLE_ID": start_id + i, "URL": url, "TEXT": f"edge case {i}", "HEIGHT": 100, "WIDTH": 100,
                     "LICENSE": lic, "NSFW": "UNLIKELY", "similarity": 0.3})
    rows.append({"SAMPLE_ID": start_id + len(values), "URL": "http://images.example.org/huge-caption.jpg",
                 "TEXT": ("a very long caption " * 5200)[:102400], "HEIGHT": 64, "WIDTH": 64, "LICENSE": by,
                 "NSFW": "UNLIKELY", "similarity": 0.31})
    return rows


def item_rows(start_id: int) -> list[dict]:
    """Rows on Wikimedia Commons / Wikipedia and Flickr image hosts, decided on the image's own license:
    the fixture API (sample_data/api/items.json) answers for them. Real host names, served locally."""
    by, by_sa, nc = ("http://creativecommons.org/licenses/by/4.0/", "http://creativecommons.org/licenses/by-sa/3.0/",
                     "http://creativecommons.org/licenses/by-nc/2.0/")
    up = "http://upload.wikimedia.org/wikipedia"  # http: the fixture web is a plain HTTP proxy
    values = [
        (f"{up}/commons/thumb/1/1a/Lighthouse_at_dusk.jpg/640px-Lighthouse_at_dusk.jpg", "?"),  # CC0: added
        (f"{up}/commons/thumb/1/1a/Lighthouse_at_dusk.jpg/1280px-Lighthouse_at_dusk.jpg", "?"),  # same file, once
        (f"{up}/commons/2/2b/Old_map.png", "?"),  # public domain: added
        (f"{up}/commons/3/3c/Market_street.jpg", by),  # CC BY-SA 4.0 in fact: removed
        (f"{up}/commons/4/4d/Harbour_view.jpg", by_sa),  # CC BY 2.0 in fact: added
        (f"{up}/en/5/5e/Film_poster.jpg", by),  # English Wikipedia's own non-free file: removed
        (f"{up}/commons/6/6f/Deleted_photo.jpg", by),  # no longer on Commons: removed, unknown
        (f"{up}/commons/7/7a/Gfdl_diagram.svg", "?"),  # GFDL: unknown item license
        (f"{up}/commons/8/8b/Old_name.jpg", None),  # a redirect to File:New name.jpg, CC BY 4.0: added
        ("http://live.staticflickr.com/65535/50000000001_abcd_b.jpg", "?"),  # Flickr CC BY 2.0: added
        ("http://farm4.staticflickr.com/3000/50000000002_ef01.jpg", by),  # all rights reserved: removed
        ("http://farm1.static.flickr.com/1/50000000003_aa_o.jpg", "?"),  # Public Domain Mark: added
        ("http://live.staticflickr.com/65535/50000000004_bb_z.jpg", "?"),  # photo not found: unknown
        ("http://live.staticflickr.com/65535/50000000005_cc.jpg", by),  # CC BY at the dataset date, ARR today
        ("http://live.staticflickr.com/65535/50000000006_dd_b.jpg", by),  # no known copyright restrictions
        ("http://live.staticflickr.com/65535/50000000007_ee_b.jpg", nc),  # NC column: asked only with --full-audit
    ]
    return [{"SAMPLE_ID": start_id + i, "URL": url, "TEXT": f"item license {i}", "HEIGHT": 480, "WIDTH": 640,
             "LICENSE": lic, "NSFW": "UNLIKELY", "similarity": 0.33} for i, (url, lic) in enumerate(values)]


def signals_2026_rows(start_id: int) -> list[dict]:
    """Rows for the 2025-2026 signals (issue 11): RSL, legacy aipref, CC signals, encodings, challenge pages,
    soft-404, licences named in words, all-rights-reserved values, the infringing-domains and name lists."""
    by, cc0 = "http://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/publicdomain/zero/1.0/"
    values = [
        ("http://rsl-prohibit.example.org/img/1.jpg", by, "a red fox"),
        ("http://rsl-prohibit.example.org/img/2.jpg", cc0, "a lighthouse"),
        ("http://rsl-paid.example.com/img/1.jpg", by, "mountain lake"),
        ("http://rsl-paid.example.com/img/2.jpg", by, "city skyline"),
        ("http://rsl-free.example.net/img/1.jpg", by, "bowl of ramen"),
        ("http://rsl-free.example.net/img/2.jpg", cc0, "honeybee on lavender"),
        ("http://aipref-legacy.example.org/1.jpg", by, "vintage car"),
        ("http://cc-signals.example.com/1.jpg", by, "street market"),
        ("http://utf16.example.net/1.jpg", by, "old fisherman"),
        ("http://partial-bom.example.org/1.jpg", by, "wooden fence"),
        ("http://group-continuity.example.com/1.jpg", by, "watercolor painting"),
        ("http://mojibake.example.org/1.jpg", by, "dawn reflection"),
        ("http://challenge.example.net/1.jpg", by, "close-up"),
        ("http://challenge-403.example.com/1.jpg", by, "portrait"),
        ("http://soft404.example.com/named-1.jpg", by, "rain"),
        ("http://infringing.example.net/1.jpg", by, "movie still"),
        ("http://www.example.com/photos/names-1.jpg", by, "Portrait of a cat by JANE Q. PAINTER, oil on canvas"),
        ("http://www.example.com/photos/names-2.jpg", cc0, "ŌKAMI HOKUSAI-SAMPLE woodblock print"),
        ("http://www.example.com/photos/names-3.jpg", by, "Jane Q. Painters guild hall"),  # no word boundary: kept
        ("http://www.example.com/photos/named-1.jpg", "CC BY 4.0", "licence named in words"),
        ("http://www.example.com/photos/named-2.jpg", "CC0-1.0", "SPDX id"),
        ("http://www.example.com/photos/named-3.jpg", "cc0", "lower-case cc0"),
        ("http://www.example.com/photos/named-4.jpg", "Public Domain Mark 1.0", "PDM in words"),
        ("http://www.example.com/photos/named-5.jpg", "CC BY-SA 4.0", "share-alike in words"),
        ("http://www.example.com/photos/named-6.jpg", "All rights reserved", "reserved"),
        ("http://www.example.com/photos/named-7.jpg", "\u00a9 2019 Jane Doe", "copyright notice"),
        ("http://www.example.com/photos/named-8.jpg", "see website", "free text naming no licence"),
        ("http://challenge-akamai.example.org/1.jpg", by, "403 access denied page"),
    ]
    return [{"SAMPLE_ID": start_id + i, "URL": url, "TEXT": text, "HEIGHT": 300, "WIDTH": 400, "LICENSE": lic,
             "NSFW": "UNLIKELY", "similarity": 0.33} for i, (url, lic, text) in enumerate(values)]


def write(table_rows: list[dict], schema: pa.Schema, path: Path, row_group_size: int = 40) -> None:
    table = pa.Table.from_pylist(table_rows, schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size, compression="snappy")


def main() -> None:
    rng = random.Random(20261129)
    sid = 1_000_000
    for shard in range(4):
        rows = laion_rows(rng, shard, 80, sid)
        sid += 1000
        if shard == 2:
            rows += item_rows(sid - 500)
        if shard == 3:
            rows += edge_rows(sid)
            rows += signals_2026_rows(sid + 500)
        write(rows, LAION_SCHEMA, HERE / "shards" / f"part-{shard:05d}.parquet")
    # LAION-5B "joined" style: no LICENSE, no NSFW; hash and punsafe/pwatermark instead
    joined = laion_rows(rng, 9, 30, 0)
    jschema = pa.schema([("URL", pa.string()), ("TEXT", pa.string()), ("WIDTH", pa.int64()), ("HEIGHT", pa.int64()),
                         ("similarity", pa.float64()), ("hash", pa.int64()), ("punsafe", pa.float32()),
                         ("pwatermark", pa.float32())])
    jrows = [{"URL": r["URL"], "TEXT": r["TEXT"], "WIDTH": r["WIDTH"], "HEIGHT": r["HEIGHT"],
              "similarity": r["similarity"], "hash": rng.randint(-2**63, 2**63 - 1),
              "punsafe": round(rng.random() * 0.2, 4), "pwatermark": round(rng.random(), 4)} for r in joined]
    write(jrows, jschema, HERE / "other" / "laion2B-en-joined-00000.parquet")
    # img2dataset output metadata, with the LICENSE kept through --save_additional_columns
    ischema = pa.schema([("key", pa.string()), ("url", pa.string()), ("caption", pa.string()), ("status", pa.string()),
                         ("error_message", pa.string()), ("width", pa.int64()), ("height", pa.int64()),
                         ("LICENSE", pa.string())])
    irows = [{"key": f"{i:09d}", "url": r["URL"], "caption": r["TEXT"], "status": "success",
              "error_message": None, "width": r["WIDTH"], "height": r["HEIGHT"], "LICENSE": r["LICENSE"]}
             for i, r in enumerate(laion_rows(rng, 8, 30, 0))]
    write(irows, ischema, HERE / "other" / "img2dataset-00000.parquet")


if __name__ == "__main__":
    main()
