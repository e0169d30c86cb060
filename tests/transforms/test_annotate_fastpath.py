"""The vectorised origin fast path in transforms/annotate.py must agree with split_url exactly."""
import random

import pyarrow as pa

from license_rules.urls import split_url
from transforms.annotate import _origin_facts

HANDPICKED = [
    "http://www.example.com", "HTTPS://Images.Example.ORG", "http://example.com.", "http://a_b.example.net",
    "http://-bad.example.com", "http://bad-.example.com", "http://x" + "a" * 63 + ".com", "http://x" + "a" * 62 + ".com",
    "http://" + ".".join(["a" * 60] * 5), "http://192.0.2.10", "http://999.1.1.1", "http://[::1]", "http://u:p@host.com",
    "http://host.com:80", "https://host.com:443", "http://host.com:8080", "http://host.com:", "ftp://host.com",
    "http://bücher.example", "http://a..b.com", "http://.com", "http://", "http://host.com\\@evil.com", "http://ho st.com",
]


def _corpus(n=3000, seed=7):
    rng = random.Random(seed)
    alphabet = "abcXYZ019-_.:@[]ü%\\ "
    out = list(HANDPICKED)
    for _ in range(n):
        scheme = rng.choice(["http", "https", "HTTP", "ftp", "hTTps"])
        host = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        out.append(f"{scheme}://{host}")
    return out


def test_fast_path_agrees_with_split_url():
    origins = _corpus()
    auth, host, err = _origin_facts(pa.array(origins, pa.string()))
    for origin, a, h, e in zip(origins, auth.to_pylist(), host.to_pylist(), err.to_pylist(), strict=True):
        parts, why = split_url(origin + "/")
        expected = (parts.authority if parts else None, parts.host if parts else None, why)
        assert (a, h, e) == expected, origin


def test_fast_path_is_taken_for_plain_hosts():
    # every plain origin is handled without split_url: its error column is all-null and typed
    auth, host, err = _origin_facts(pa.array(["http://www.example.com", "https://cdn.example.net"]))
    assert auth.to_pylist() == ["http://www.example.com", "https://cdn.example.net"]
    assert host.to_pylist() == ["www.example.com", "cdn.example.net"]
    assert err.null_count == 2
