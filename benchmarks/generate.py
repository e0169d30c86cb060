"""Synthetic LAION-400M-like data for the benchmarks (vectorised with numpy and pyarrow).

``generate_dataset`` writes shards with LAION-400M's eight columns and types (SAMPLE_ID int64, URL,
TEXT, HEIGHT int32, WIDTH int32, LICENSE, NSFW, similarity double), snappy-compressed like the
Spark-written originals:

* hosts follow a Zipf law over ``rows / 5`` host ranks (exponent 1): the top host holds about 7%
  of the rows, a long tail of hosts holds one or two rows each;
* URLs take the shapes of the big image hosts (hashed CDN paths, shop CDNs with ``?v=`` queries,
  WordPress uploads, photo-sharing farms, blog CDNs, wiki thumbnails, plain ``/images/...``);
* about 1% of rows carry a Creative Commons LICENSE in its real shapes (deeds, legal codes,
  jurisdiction ports, button images, ``https``, upper case, cut at 80 characters), concentrated on
  photo-sharing and wiki hosts like in LAION; every other row has ``"?"``;
* captions have a log-normal word count (median 7-8 words, a long tail past 100) over a
  Zipf-distributed vocabulary, so that they compress like real alt texts.

``make_snapshot`` writes a signals snapshot (``transforms.snapshot.write_snapshot``) for the
data's candidate authorities (rows whose license the permissive policy keeps), with realistic
robots.txt bodies, ai.txt and tdmrep.json outcomes classified by ``license_rules.fetchrules``;
``make_optout_list`` writes an opt-out list of 10,000 domains, some of them in the data.
``robots_profile`` gives every authority a stable profile so that the crawl benchmark's fixture
web serves the same bodies.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["LAION_SCHEMA", "HostModel", "generate_dataset", "make_snapshot", "make_optout_list",
           "robots_profile", "signal_files", "candidate_authorities", "DEFAULT_ROW_GROUP_ROWS",
           "DEFAULT_SHARD_ROWS"]

LAION_SCHEMA = pa.schema([
    ("SAMPLE_ID", pa.int64()), ("URL", pa.string()), ("TEXT", pa.string()), ("HEIGHT", pa.int32()),
    ("WIDTH", pa.int32()), ("LICENSE", pa.string()), ("NSFW", pa.string()), ("similarity", pa.float64()),
])
#: LAION-400M's shards hold ~12.9M rows in Spark's 128 MB row groups (~1M rows). We scale the
#: shard down so that 2M and 8M rows give several shards, and use 1/8 of Spark's row group.
DEFAULT_SHARD_ROWS = 1_000_000
DEFAULT_ROW_GROUP_ROWS = 131_072
_HOSTS_PER_ROW = 0.2
_ZIPF_S = 1.0

# --------------------------------------------------------------------------- vocabulary

_COMMON = (
    "the a of and in with for on to at by from black white red blue green new vintage women men kids "
    "dress shirt shoes bag leather gold silver ring necklace wedding bride flowers rose garden house home "
    "kitchen living room bedroom bathroom design ideas modern rustic wood wooden table chair sofa lamp wall "
    "art print poster painting watercolor oil canvas photo photography portrait landscape mountain lake "
    "river sea beach sunset sunrise sky clouds night city street car cars truck bike motorcycle train "
    "plane boat dog cat puppy kitten bird horse cow fish food cake chocolate coffee tea pizza salad recipe "
    "easy healthy christmas halloween birthday party gift card logo icon vector illustration pattern "
    "background texture free stock image picture cartoon cute funny baby girl boy man woman people family "
    "old small large big little best top how make diy tutorial style fashion summer winter spring autumn "
    "fall 2015 2016 2017 2018 2019 hd 4k set of two three one size pink purple yellow orange grey brown "
    "cotton silk wool knit lace floral print mini maxi long short sleeve hair makeup nails tattoo quotes "
    "church castle bridge tower park forest tree trees snow rain flower field farm village old town map "
    "book cover album music guitar piano concert game football soccer basketball team player stadium"
).split()
_SYLLABLES = ("ka ri to na mo se lu ve da po mi ra lo ne ti sa ku be zo fa gi he jo la me nu pe qui "
              "ro su ta vo wi xa yo ze bra cla dre fli gro pla sto tri").split()


def _vocabulary(size: int = 30_000, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    words = list(_COMMON)
    seen = set(words)
    syl = np.array(_SYLLABLES)
    while len(words) < size:
        n = int(rng.integers(2, 5))
        w = "".join(syl[rng.integers(0, len(syl), n)])
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


@dataclass(frozen=True)
class _Vocab:
    words: pa.Array  # string
    buf: np.ndarray  # uint8: every word followed by one space
    start: np.ndarray  # int64 offset of each word in buf
    len1: np.ndarray  # int64 length of each word plus the space
    cdf: np.ndarray  # Zipf cdf over word ranks
    table: np.ndarray  # inverse cdf quantised to 2**20 buckets: one gather per sample

    @classmethod
    def build(cls) -> _Vocab:
        words = _vocabulary()
        encoded = [w.encode() + b" " for w in words]
        len1 = np.array([len(e) for e in encoded], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(len1)[:-1]])
        buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        weights = 1.0 / (np.arange(len(words)) + 3.0) ** 1.07
        cdf = np.cumsum(weights) / weights.sum()
        buckets = 1 << 20
        table = np.minimum(np.searchsorted(cdf, (np.arange(buckets) + 0.5) / buckets), len(cdf) - 1).astype(np.int32)
        return cls(pa.array(words, pa.string()), buf, start, len1, cdf, table)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.table[rng.integers(0, len(self.table), n)]


_VOCAB: _Vocab | None = None


def _vocab() -> _Vocab:
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = _Vocab.build()
    return _VOCAB


# --------------------------------------------------------------------------- vectorised string pieces

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _fixed(chars: np.ndarray) -> pa.Array:
    """An (n, w) uint8 array of ASCII characters as n strings of width w."""
    n, w = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(w)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars).tobytes()))


def _rand_chars(rng: np.random.Generator, lut: np.ndarray, n: int, w: int) -> pa.Array:
    return _fixed(lut[rng.integers(0, len(lut), size=(n, w))])


def _num(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())


def _pick(rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None) -> pa.Array:
    idx = rng.choice(len(values), size=n, p=p)
    return pa.array(values, pa.string()).take(pa.array(idx))


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _slug(rng: np.random.Generator, n: int, lo: int = 2, hi: int = 5, sep: str = "-") -> pa.Array:
    v = _vocab()
    k = rng.integers(lo, hi + 1, n)
    cols = []
    for j in range(hi):
        words = v.words.take(pa.array(v.sample(rng, n)))
        cols.append(pc.if_else(pa.array(j < k), words, pa.scalar(None, pa.string())))
    return pc.binary_join_element_wise(*cols, sep, null_handling="skip")


_STREAM_WORDS = 6_000_000
_STREAM: tuple[np.ndarray, np.ndarray] | None = None


def _word_stream() -> tuple[np.ndarray, np.ndarray]:
    """A long text of Zipf-sampled words (each followed by a space) and the offset of every word."""
    global _STREAM
    if _STREAM is None:
        v = _vocab()
        wid = v.sample(np.random.default_rng([11, 3]), _STREAM_WORDS)
        lens = v.len1[wid]
        ends = np.cumsum(lens)
        src = np.repeat(v.start[wid] - (ends - lens), lens) + np.arange(int(ends[-1]), dtype=np.int64)
        _STREAM = (v.buf[src], np.concatenate([[0], ends]))
    return _STREAM


def captions(rng: np.random.Generator, n: int) -> pa.Array:
    """n captions with log-normal word counts: consecutive windows of the word stream from a random start."""
    buf, starts = _word_stream()
    counts = np.clip(np.rint(rng.lognormal(np.log(7.5), 0.75, n)), 1, 160).astype(np.int64)
    total_words = int(counts.sum())
    if total_words >= len(starts) - 1:
        raise ValueError(f"{n} captions need more than the {len(starts) - 1} words of the stream")
    first = int(rng.integers(0, len(starts) - 1 - total_words))
    bounds = starts[first + np.concatenate([[0], np.cumsum(counts)])]
    offsets = (bounds - bounds[0]).astype(np.int32)
    data = pa.py_buffer(buf[bounds[0]:bounds[-1]])
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), data)
    return pc.utf8_capitalize(pc.utf8_rtrim_whitespace(arr))


# --------------------------------------------------------------------------- licenses

def license_shapes() -> tuple[list[str], np.ndarray]:
    """Distinct LICENSE strings in LAION's real shapes and their relative weights."""
    units = {"by-nc-sa": 0.24, "by-nc": 0.18, "by-sa": 0.15, "by": 0.17, "by-nd": 0.05, "by-nc-nd": 0.13}
    versions = {"2.0": 0.55, "3.0": 0.25, "2.5": 0.08, "4.0": 0.12}
    shapes: dict[str, float] = {}

    def add(s: str, w: float) -> None:
        shapes[s] = shapes.get(s, 0.0) + w

    for unit, uw in units.items():
        for ver, vw in versions.items():
            w = uw * vw
            add(f"http://creativecommons.org/licenses/{unit}/{ver}/", w * 0.62)
            add(f"https://creativecommons.org/licenses/{unit}/{ver}/", w * 0.08)
            add(f"http://creativecommons.org/licenses/{unit}/{ver}/deed.en", w * 0.06)
            add(f"https://creativecommons.org/licenses/{unit}/{ver}/deed.en_US", w * 0.02)
            add(f"http://creativecommons.org/licenses/{unit}/{ver}/legalcode", w * 0.03)
            add(f"http://i.creativecommons.org/l/{unit}/{ver}/88x31.png", w * 0.04)
            add(f"https://licensebuttons.net/l/{unit}/{ver}/88x31.png", w * 0.02)
            add(f"creativecommons.org/licenses/{unit}/{ver}/", w * 0.01)
            add(f"HTTP://CREATIVECOMMONS.ORG/LICENSES/{unit.upper()}/{ver}/", w * 0.005)
            for jur, lang in (("de", "de"), ("fr", "fr"), ("es", "es"), ("br", "pt_BR"), ("nl", "nl"), ("jp", "ja")):
                add(f"http://creativecommons.org/licenses/{unit}/{ver}/{jur}/", w * 0.012)
                add(f"http://creativecommons.org/licenses/{unit}/{ver}/{jur}/deed.{lang}", w * 0.005)
            long = f"http://creativecommons.org/licenses/{unit}/{ver}/deed.en_GB?utm_source=gallery&utm_medium=web"
            add(long[:80], w * 0.01)  # LAION cut the link at 80 characters
    for s, w in (("http://creativecommons.org/publicdomain/zero/1.0/", 0.012),
                 ("https://creativecommons.org/publicdomain/zero/1.0/deed.en", 0.004),
                 ("http://creativecommons.org/publicdomain/mark/1.0/", 0.008),
                 ("http://creativecommons.org/licenses/publicdomain/", 0.004),
                 ("https://licensebuttons.net/p/zero/1.0/88x31.png", 0.002),
                 ("http://creativecommons.org/licenses/sampling+/1.0/", 0.001),
                 ("http://creativecommons.org/licenses/", 0.002),
                 ("http://creativecommons.org/licenses/by-n", 0.001)):
        add(s, w)
    values = list(shapes)
    weights = np.array([shapes[s] for s in values])
    return values, weights / weights.sum()


# --------------------------------------------------------------------------- hosts

# template ids
T_HASHED, T_SHOP, T_WP, T_PRODUCT, T_AMAZON, T_FLICKR, T_BLOGSPOT, T_WIKI, T_SIMPLE = range(9)
_N_TEMPLATES = 9

# (host, template, share of rows with a CC LICENSE, https share): the head of the distribution
_TOP = [
    ("i.pinframe.com", T_HASHED, 0.0, 0.95), ("cdn.shopcart.com", T_SHOP, 0.0, 1.0),
    ("images-na.ssl-images-bigstore.com", T_AMAZON, 0.0, 1.0), ("i.auctionimg.com", T_HASHED, 0.0, 0.6),
    ("ae01.bazaarcdn.com", T_HASHED, 0.0, 0.9), ("farm2.staticphotos.com", T_FLICKR, 0.06, 0.3),
    ("1.bp.blogpost.com", T_BLOGSPOT, 0.02, 0.5), ("farm5.staticphotos.com", T_FLICKR, 0.06, 0.3),
    ("upload.wikiarchive.org", T_WIKI, 0.3, 1.0), ("2.bp.blogpost.com", T_BLOGSPOT, 0.02, 0.5),
    ("farm4.staticphotos.com", T_FLICKR, 0.06, 0.3), ("3.bp.blogpost.com", T_BLOGSPOT, 0.02, 0.5),
    ("images.stockframe.com", T_PRODUCT, 0.0, 0.8), ("farm3.staticphotos.com", T_FLICKR, 0.06, 0.3),
    ("4.bp.blogpost.com", T_BLOGSPOT, 0.02, 0.5), ("farm6.staticphotos.com", T_FLICKR, 0.06, 0.3),
    ("media.pictureagency.com", T_HASHED, 0.0, 1.0), ("farm8.staticphotos.com", T_FLICKR, 0.06, 0.3),
    ("farm1.staticphotos.com", T_FLICKR, 0.06, 0.3), ("live.staticphotos.com", T_FLICKR, 0.06, 1.0),
    ("farm7.staticphotos.com", T_FLICKR, 0.06, 0.3), ("farm9.staticphotos.com", T_FLICKR, 0.06, 0.3),
    ("c1.staticphotos.com", T_FLICKR, 0.06, 1.0), ("i.videothumbs.com", T_AMAZON, 0.0, 1.0),
]
_TLDS = ["com", "net", "org", "de", "co.uk", "fr", "ru", "com.br", "jp", "it", "nl", "pl", "com.au", "ca", "es",
         "info", "in", "cz", "se", "ch"]
_TLD_P = [0.50, 0.07, 0.06, 0.06, 0.04, 0.03, 0.04, 0.03, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01, 0.01,
          0.01, 0.005, 0.005]
_PREFIXES = ["www.", "", "images.", "cdn.", "img.", "static.", "media.", "i0.", "s3.", "assets."]
_PREFIX_P = [0.45, 0.25, 0.06, 0.06, 0.04, 0.04, 0.04, 0.02, 0.02, 0.02]
_PLATFORMS = ["files.wpress.com", "blogpost.com", "tumblrmedia.net", "squarecdn.com", "weebly-sites.com"]


class HostModel:
    """Host ranks -> names, URL templates, CC propensity and https share; Zipf sampling of ranks."""

    def __init__(self, n_hosts: int, seed: int = 0, https_share: float = 0.45):
        n_hosts = max(n_hosts, len(_TOP) + 10)
        rng = np.random.default_rng([seed, 1])
        self.n = n_hosts
        weights = 1.0 / (np.arange(n_hosts) + 1.0) ** _ZIPF_S
        self.cdf = np.cumsum(weights) / weights.sum()
        n_tail = n_hosts - len(_TOP)
        v = _vocab()
        w1 = v.words.take(pa.array(rng.integers(300, len(v.cdf), n_tail)))
        w2 = v.words.take(pa.array(rng.integers(0, len(v.cdf), n_tail)))
        base = _join(w1, w2)
        prefix = _pick(rng, _PREFIXES, n_tail, _PREFIX_P)
        tld = _pick(rng, _TLDS, n_tail, _TLD_P)
        own = _join(prefix, base, pa.scalar("."), tld)
        platform = _join(base, pa.scalar("."), _pick(rng, _PLATFORMS, n_tail))
        on_platform = rng.random(n_tail) < 0.15
        tail_names = pc.if_else(pa.array(on_platform), platform, own)
        self.names = pa.concat_arrays([pa.array([t[0] for t in _TOP], pa.string()), tail_names])
        template = rng.choice([T_WP, T_PRODUCT, T_SIMPLE, T_HASHED, T_SHOP], size=n_tail, p=[0.35, 0.2, 0.3, 0.1, 0.05])
        template[on_platform] = T_WP
        self.template = np.concatenate([np.array([t[1] for t in _TOP]), template]).astype(np.int8)
        cc = np.where(template == T_WP, 0.008, 0.002)
        self.cc = np.concatenate([np.array([t[2] for t in _TOP]), cc])
        https = np.where(rng.random(n_tail) < https_share, 1.0, 0.0)
        top_https = np.array([t[3] for t in _TOP]) if https_share > 0 else np.zeros(len(_TOP))
        self.https = np.concatenate([top_https, https])
        self.https_share = https_share

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n)), self.n - 1)


def _paths(rng: np.random.Generator, template: int, n: int) -> pa.Array:
    if template == T_HASHED:
        h = _rand_chars(rng, _HEX, n, 32)
        size = _pick(rng, ["236x", "474x", "564x", "736x", "originals", "170x"], n)
        return _join(pa.scalar("/"), size, pa.scalar("/"), pc.utf8_slice_codeunits(h, 0, 2), pa.scalar("/"),
                     pc.utf8_slice_codeunits(h, 2, 4), pa.scalar("/"), pc.utf8_slice_codeunits(h, 4, 6), pa.scalar("/"),
                     h, _pick(rng, [".jpg", ".jpg", ".jpg", ".png", ".gif"], n))
    if template == T_SHOP:
        return _join(pa.scalar("/s/files/1/"), _rand_chars(rng, _DIGITS, n, 4), pa.scalar("/"),
                     _rand_chars(rng, _DIGITS, n, 4), pa.scalar("/products/"), _slug(rng, n, 2, 5, "-"),
                     _pick(rng, ["_large", "_grande", "_1024x1024", "_800x", ""], n), pa.scalar(".jpg?v="),
                     _num(rng.integers(1_400_000_000, 1_650_000_000, n)))
    if template == T_WP:
        wh = _pick(rng, ["-300x200", "-768x512", "-1024x683", "-150x150", "", "", "-scaled"], n)
        return _join(pa.scalar("/wp-content/uploads/"), _num(rng.integers(2009, 2022, n)), pa.scalar("/"),
                     _pick(rng, [f"{m:02d}" for m in range(1, 13)], n), pa.scalar("/"), _slug(rng, n, 1, 6, "-"), wh,
                     _pick(rng, [".jpg", ".jpg", ".png", ".jpeg", ".webp"], n))
    if template == T_PRODUCT:
        a = _join(pa.scalar("/images/products/"), _num(rng.integers(1000, 9_999_999, n)), pa.scalar("/"),
                  _slug(rng, n, 2, 5, "-"), pa.scalar(".jpg"))
        b = _join(pa.scalar("/media/catalog/product/cache/1/image/"), _rand_chars(rng, _HEX, n, 32), pa.scalar("/"),
                  _rand_chars(rng, _HEX, n, 1), pa.scalar("/"), _rand_chars(rng, _HEX, n, 1), pa.scalar("/"),
                  _slug(rng, n, 1, 4, "_"), pa.scalar(".jpg"))
        return pc.if_else(pa.array(rng.random(n) < 0.6), a, b)
    if template == T_AMAZON:
        return _join(pa.scalar("/images/I/"), _rand_chars(rng, _ALNUM, n, 11),
                     _pick(rng, ["._SX300_.jpg", "._SL1500_.jpg", "._AC_UL320_.jpg", ".jpg", "._SY355_.jpg"], n))
    if template == T_FLICKR:
        return _join(pa.scalar("/"), _num(rng.integers(1000, 9999, n)), pa.scalar("/"),
                     _num(rng.integers(1_000_000_000, 9_999_999_999, n)), pa.scalar("_"),
                     _rand_chars(rng, _HEX, n, 10), _pick(rng, ["_z.jpg", "_b.jpg", ".jpg", "_m.jpg", "_o.jpg"], n))
    if template == T_BLOGSPOT:
        return _join(pa.scalar("/-"), _rand_chars(rng, _ALNUM, n, 11), pa.scalar("/"), _rand_chars(rng, _ALNUM, n, 11),
                     pa.scalar("/AAAAAAAA"), _rand_chars(rng, _ALNUM, n, 3), pa.scalar("/"),
                     _rand_chars(rng, _ALNUM, n, 11), pa.scalar("/s1600/"), _slug(rng, n, 1, 4, "-"), pa.scalar(".jpg"))
    if template == T_WIKI:
        h = _rand_chars(rng, _HEX, n, 2)
        name = _join(pc.utf8_capitalize(_slug(rng, n, 1, 4, "_")), pa.scalar(".jpg"))
        return _join(pa.scalar("/wikipedia/commons/thumb/"), pc.utf8_slice_codeunits(h, 0, 1), pa.scalar("/"), h,
                     pa.scalar("/"), name, pa.scalar("/"), _pick(rng, ["220", "320", "640", "800", "1024"], n),
                     pa.scalar("px-"), name)
    # T_SIMPLE
    a = _join(pa.scalar("/"), _slug(rng, n, 1, 4, "-"), _pick(rng, [".jpg", ".png", ".jpeg", ".gif"], n))
    b = _join(pa.scalar("/uploads/"), _num(rng.integers(1, 999_999, n)), pa.scalar(".png"))
    c = _join(pa.scalar("/photos/"), _num(rng.integers(1, 99_999, n)), pa.scalar("/"), _slug(rng, n, 1, 3, "-"),
              pa.scalar(".jpeg?w=800&h=600"))
    r = rng.random(n)
    return pc.if_else(pa.array(r < 0.5), a, pc.if_else(pa.array(r < 0.8), b, c))


def _urls(rng: np.random.Generator, hosts: HostModel, ranks: np.ndarray) -> pa.Array:
    n = len(ranks)
    templates = hosts.template[ranks]
    order = np.argsort(templates, kind="stable")
    pieces = []
    for t in range(_N_TEMPLATES):
        count = int(np.count_nonzero(templates == t))
        if count:
            pieces.append(_paths(rng, t, count))
    paths = pa.concat_arrays(pieces) if pieces else pa.array([], pa.string())
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    paths = paths.take(pa.array(inverse))
    https = rng.random(n) < hosts.https[ranks]
    if hosts.https_share > 0:
        flip = rng.random(n) < 0.03  # the same host linked with both schemes
        https = https ^ flip
    scheme = pc.if_else(pa.array(https), pa.scalar("https://"), pa.scalar("http://"))
    urls = _join(scheme, hosts.names.take(pa.array(ranks)), paths)
    bad = rng.random(n) < 0.00005  # a few broken URLs, as in the real data
    if bad.any():
        urls = pc.if_else(pa.array(bad), pc.replace_substring(urls, "/", " /", max_replacements=3), urls)
    return urls


def generate_rows(rng: np.random.Generator, hosts: HostModel, n: int, first_id: int,
                  shapes: tuple[list[str], np.ndarray]) -> pa.Table:
    ranks = hosts.sample(rng, n)
    values, weights = shapes
    cc = rng.random(n) < hosts.cc[ranks]
    lic_idx = np.where(cc, rng.choice(len(values), size=n, p=weights), len(values))
    licenses = pa.array(values + ["?"], pa.string()).take(pa.array(lic_idx))
    sizes = np.array([256, 300, 320, 400, 480, 500, 600, 640, 736, 768, 800, 1000, 1024, 1200, 1500], np.int32)
    height = np.where(rng.random(n) < 0.6, sizes[rng.integers(0, len(sizes), n)], rng.integers(64, 2048, n)).astype(np.int32)
    width = np.where(rng.random(n) < 0.6, sizes[rng.integers(0, len(sizes), n)], rng.integers(64, 2048, n)).astype(np.int32)
    nsfw = _pick(rng, ["UNLIKELY", "UNSURE", "NSFW"], n, [0.9, 0.07, 0.03])
    similarity = np.clip(rng.normal(0.325, 0.025, n), 0.3, 0.6)
    return pa.table([
        pa.array(np.arange(first_id, first_id + n, dtype=np.int64)), _urls(rng, hosts, ranks), captions(rng, n),
        pa.array(height), pa.array(width), licenses, nsfw, pa.array(similarity),
    ], schema=LAION_SCHEMA)


def generate_dataset(out_dir: str | os.PathLike, rows: int, *, seed: int = 0, shard_rows: int = DEFAULT_SHARD_ROWS,
                     row_group_rows: int = DEFAULT_ROW_GROUP_ROWS, https_share: float = 0.45) -> dict:
    """Write ``ceil(rows / shard_rows)`` shards ``part-NNNNN.parquet`` into ``out_dir``; return facts."""
    if rows < 1 or shard_rows < 1 or row_group_rows < 1:
        raise ValueError("rows, shard_rows and row_group_rows must be >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hosts = HostModel(int(rows * _HOSTS_PER_ROW), seed, https_share)
    shapes = license_shapes()
    files, written, shard = [], 0, 0
    while written < rows:
        n_shard = min(shard_rows, rows - written)
        path = out / f"part-{shard:05d}.parquet"
        tmp = out / f".part-{shard:05d}.parquet.tmp"
        rng = np.random.default_rng([seed, 2, shard])
        with pq.ParquetWriter(tmp, LAION_SCHEMA, compression="snappy") as writer:
            done = 0
            while done < n_shard:
                n = min(row_group_rows, n_shard - done)
                table = generate_rows(rng, hosts, n, 3_000_000_000 + written + done, shapes)
                writer.write_table(table, row_group_size=row_group_rows)
                done += n
        os.replace(tmp, path)
        files.append(str(path))
        written += n_shard
        shard += 1
    return {"rows": rows, "files": files, "shard_rows": shard_rows, "row_group_rows": row_group_rows, "seed": seed,
            "host_ranks": hosts.n, "https_share": https_share,
            "bytes": sum(os.path.getsize(f) for f in files)}


# --------------------------------------------------------------------------- candidates, snapshot, opt-out list

def candidate_authorities(files: list[str], policy_name: str = "permissive") -> tuple[set[str], int]:
    """Authorities of rows whose license the policy keeps (what the crawl fetches), and that row count."""
    from license_rules.cc import parse_license
    from license_rules.decision import license_reason
    from license_rules.policy import load_policy
    from license_rules.urls import split_url

    policy = load_policy(policy_name)
    found: set[str] = set()
    rows = 0
    for path in files:
        pf = pq.ParquetFile(path)
        for g in range(pf.num_row_groups):
            t = pf.read_row_group(g, columns=["URL", "LICENSE"])
            enc = pc.dictionary_encode(t.column("LICENSE").combine_chunks(), null_encoding="encode")
            ok = np.array([license_reason(v, parse_license(v), policy) is None for v in enc.dictionary.to_pylist()],
                          dtype=bool)
            mask = ok[enc.indices.to_numpy(zero_copy_only=False)]
            for url in t.column("URL").filter(pa.array(mask)).to_pylist():
                parts, _ = split_url(url)
                if parts is not None:
                    found.add(parts.authority)
                    rows += 1
    return found, rows


_PROFILES = (  # (name, share)
    ("allow_all", 0.28), ("wordpress", 0.12), ("some_paths", 0.12), ("gptbot", 0.10), ("ai_bots_long", 0.03),
    ("disallow_all", 0.03), ("content_signal", 0.03), ("not_found", 0.24), ("unreachable_503", 0.04),
    ("unreachable_reset", 0.01),
)


def robots_profile(authority: str, seed: int = 0) -> str:
    """A stable profile for an authority (same in the snapshot and in the crawl fixture web)."""
    h = int.from_bytes(hashlib.blake2b(f"{seed}:{authority}".encode(), digest_size=8).digest(), "big") / 2.0 ** 64
    acc = 0.0
    for name, share in _PROFILES:
        acc += share
        if h < acc:
            return name
    return _PROFILES[-1][0]


_AI_BOTS = ["GPTBot", "ChatGPT-User", "CCBot", "Google-Extended", "anthropic-ai", "ClaudeBot", "Bytespider",
            "PerplexityBot", "Amazonbot", "Applebot-Extended", "cohere-ai", "Diffbot", "FacebookBot", "omgili",
            "ImagesiftBot", "Timpibot"]


def _robots_body(profile: str, authority: str) -> bytes | None:
    sitemap = f"Sitemap: {authority}/sitemap.xml\n"
    if profile == "allow_all":
        return ("User-agent: *\nDisallow:\n\n" + sitemap).encode()
    if profile == "wordpress":
        return ("User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
                f"Sitemap: {authority}/wp-sitemap.xml\n").encode()
    if profile == "some_paths":
        lines = ["# robots.txt for a shop", "User-agent: *", "Disallow: /admin", "Disallow: /cart", "Disallow: /orders",
                 "Disallow: /checkout", "Disallow: /account", "Disallow: /search", "Disallow: /*?q=*",
                 "Disallow: /*sort_by*", "Disallow: /collections/*+*", "Disallow: /private/", "Allow: /private/public/",
                 "", "User-agent: AhrefsBot", "Crawl-delay: 10", "Disallow: /", "", sitemap.strip()]
        return ("\n".join(lines) + "\n").encode()
    if profile == "gptbot":
        return ("User-agent: GPTBot\nDisallow: /\n\nUser-agent: CCBot\nDisallow: /\n\n"
                "User-agent: Google-Extended\nDisallow: /\n\nUser-agent: *\nDisallow: /wp-admin/\n\n" + sitemap).encode()
    if profile == "ai_bots_long":
        parts = []
        for bot in _AI_BOTS:
            parts.append(f"User-agent: {bot}\nDisallow: /\n")
        parts.append("User-agent: *\n" + "".join(f"Disallow: /section-{i}/drafts/\n" for i in range(120)))
        parts.append("Allow: /\n" + sitemap)
        return "\n".join(parts).encode()
    if profile == "disallow_all":
        return b"User-agent: *\nDisallow: /\n"
    if profile == "content_signal":
        return ("# As a condition of accessing this website, you agree to abide by the following content signals:\n"
                "# search: building a search index; ai-input: inputting content into AI models; ai-train: training\n"
                "User-Agent: *\nContent-Signal: search=yes,ai-train=no\nAllow: /\n\n"
                "User-agent: GPTBot\nDisallow: /\n\nUser-agent: CCBot\nDisallow: /\n\n" + sitemap).encode()
    return None


def signal_files(authority: str, seed: int = 0) -> dict[str, dict]:
    """What the authority serves: kind -> {"status", "body", "content_type", "mode"} (mode "reset": no answer)."""
    from license_rules.fetchrules import FILE_PATHS

    profile = robots_profile(authority, seed)
    h = int.from_bytes(hashlib.blake2b(f"files:{seed}:{authority}".encode(), digest_size=8).digest(), "big") / 2.0 ** 64
    out: dict[str, dict] = {}
    body = _robots_body(profile, authority)
    if profile == "unreachable_503":
        out["robots"] = {"status": 503, "body": b"status 503\n", "content_type": "text/plain"}
    elif profile == "unreachable_reset":
        out["robots"] = {"mode": "reset"}
    elif body is None:
        out["robots"] = {"status": 404, "body": b"not found\n", "content_type": "text/plain"}
    else:
        out["robots"] = {"status": 200, "body": body, "content_type": "text/plain; charset=utf-8"}
    if h < 0.03:
        out["ai_txt"] = {"status": 200, "body": b"# Spawning AI\nUser-Agent: *\nDisallow: /\n", "content_type": "text/plain"}
    else:
        out["ai_txt"] = {"status": 404, "body": b"not found\n", "content_type": "text/plain"}
    if 0.03 <= h < 0.06:
        tdm = [{"location": "/*", "tdm-reservation": 1, "tdm-policy": f"{authority}/tdm-policy.json"}]
        out["tdmrep"] = {"status": 200, "body": json.dumps(tdm).encode(), "content_type": "application/json"}
    elif 0.06 <= h < 0.07:
        out["tdmrep"] = {"status": 200, "body": b'[{"location": "/", "tdm-reservation": 0}]', "content_type": "application/json"}
    else:
        out["tdmrep"] = {"status": 404, "body": b"not found\n", "content_type": "text/plain"}
    for kind in out:
        out[kind]["path"] = FILE_PATHS[kind]
    return out


def snapshot_records(authorities, seed: int = 0, fetched_at: dt.datetime | None = None) -> pa.Table:
    """Fetch records (RECORD_FIELDS, SNAPSHOT_SCHEMA) as the crawler would have written them."""
    from license_rules.fetchrules import classify
    from license_rules.records import FetchRecord
    from transforms.snapshot import records_to_table

    when = fetched_at or dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
    records: list[FetchRecord] = []
    for i, authority in enumerate(sorted(authorities)):
        for kind, spec in signal_files(authority, seed).items():
            url = authority + spec["path"]
            if spec.get("mode") == "reset":
                status, ctype, body, err_kind = None, None, None, "connection"
                error = "ConnectionError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"
            else:
                status, ctype, err_kind, error = spec["status"], spec["content_type"], None, None
                body = spec["body"] if 200 <= status < 300 else None
            outcome = classify(kind, status, ctype, body or b"", err_kind, False)
            records.append(FetchRecord(
                authority=authority, kind=kind, url=url, final_url=url, redirects=(), status=status, outcome=outcome,
                content_type=ctype, fetched_at=when, elapsed_ms=20 + (i * 7) % 400,
                sha256=hashlib.sha256(body).hexdigest() if body is not None else None,
                body=body, truncated=False, headers_json=None, error=error))
    return records_to_table(records)


def _repo_relative(path: str | os.PathLike) -> str:
    """A path inside the repository as recorded in committed results: relative, never this machine's layout."""
    root = Path(__file__).resolve().parents[1]
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def make_snapshot(files: list[str], out_dir: str | os.PathLike, seed: int = 0) -> dict:
    """Write a signals snapshot covering the candidate authorities of ``files``; return facts."""
    from transforms.snapshot import write_snapshot

    authorities, cand_rows = candidate_authorities(files)
    table = snapshot_records(authorities, seed)
    manifest = write_snapshot(table, out_dir)
    profiles: dict[str, int] = {}
    for a in authorities:
        p = robots_profile(a, seed)
        profiles[p] = profiles.get(p, 0) + 1
    return {"dir": _repo_relative(out_dir), "authorities": len(authorities), "candidate_rows": cand_rows,
            "records": table.num_rows, "robots_profiles": dict(sorted(profiles.items())), "file": manifest["file"]}


def make_optout_list(path: str | os.PathLike, files: list[str], n: int = 10_000, in_data_share: float = 0.05,
                     seed: int = 0) -> dict:
    """An opt-out list of ``n`` domains: ``in_data_share`` of the registered domains of the data's
    candidate hosts (not the big head hosts), so that some rows really drop as ``optout_list``,
    and the rest domains that are not in the data."""
    from license_rules.urls import registered_domain, split_url

    rng = np.random.default_rng([seed, 5])
    authorities, _ = candidate_authorities(files)
    head = {registered_domain(t[0]) for t in _TOP}
    domains = sorted({registered_domain(split_url(a + "/")[0].host) for a in authorities} - head)
    k = min(n, int(round(len(domains) * in_data_share)))
    chosen = [domains[i] for i in sorted(rng.choice(len(domains), size=k, replace=False))] if k else []
    v = _vocab()
    picked = set(chosen)
    extra: list[str] = []
    while len(chosen) + len(extra) < n:
        m = n - len(chosen) - len(extra)
        w1 = v.words.take(pa.array(rng.integers(0, len(v.cdf), m))).to_pylist()
        w2 = v.words.take(pa.array(rng.integers(0, len(v.cdf), m))).to_pylist()
        tld = rng.choice(_TLDS, size=m, p=np.array(_TLD_P) / sum(_TLD_P))
        for a, b, t in zip(w1, w2, tld, strict=True):
            d = f"optout-{a}{b}.{t}"
            if d not in picked:
                picked.add(d)
                extra.append(d)
    lines = ["# benchmark opt-out list: generated by benchmarks/generate.py", *chosen, *extra[: n - len(chosen)]]
    Path(path).write_text("\n".join(lines) + "\n", "utf-8")
    return {"path": str(path), "entries": len(lines) - 1, "in_data": len(chosen)}
