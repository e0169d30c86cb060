"""C2PA / CAWG training-and-data-mining assertions: the pure reading of a manifest store, and real
manifests signed here with c2pa-python and a locally generated certificate chain (offline: no TSA)."""
from __future__ import annotations

import http.server
import io
import threading

import pytest

from license_rules.c2pa_assertions import training_mining
from license_rules.image_signals import decide_sample, read_image
from license_rules.imagefile import scan_image
from license_rules.policy import load_policy, parse_policy
from license_rules.reasons import Reason
from tests.imagekit import BY, c2pa_sign, jpeg, png, signing_chain, training_assertion, webp
from transforms.images import C2paReader

PERMISSIVE = load_policy("permissive")


def store(*assertions, active: bool = True, extra_manifest=None, status=()):
    manifests = {"urn:a": {"assertions": list(assertions), "signature_info": {"common_name": "Signer", "issuer": "Org"}}}
    if extra_manifest is not None:
        manifests["urn:ingredient"] = {"assertions": [extra_manifest]}
    return {"active_manifest": "urn:a" if active else "urn:other", "manifests": manifests,
            "validation_status": [{"code": c} for c in status]}


# --- the assertion, table-driven ----------------------------------------------------------------------------
@pytest.mark.parametrize("label", ["cawg.training-mining", "c2pa.training-mining"])
@pytest.mark.parametrize("entry", ["ai_training", "ai_generative_training", "data_mining"])
@pytest.mark.parametrize("use, verdict", [("notAllowed", "deny"), ("constrained", "deny"), ("allowed", "allow")])
def test_cawg_training_mining_entries(label, entry, use, verdict):
    result = training_mining(store(training_assertion(label, **{entry: use})), "Valid")
    assert result.verdict == verdict
    assert [(e.name, e.use) for e in result.entries] == [(entry, use)]


def test_cawg_ai_inference_is_recorded_not_a_training_reservation():
    result = training_mining(store(training_assertion(ai_inference="notAllowed")))
    assert result.verdict == "unknown" and result.entries[0].name == "ai_inference"


def test_cawg_any_reserving_entry_wins_over_allowed_ones():
    a = training_assertion(ai_training="allowed", data_mining="allowed", ai_generative_training="notAllowed")
    assert training_mining(store(a)).verdict == "deny"


def test_c2pa_versioned_and_repeated_labels_are_read():
    a = training_assertion("c2pa.training-mining", ai_training="notAllowed")
    for label in ("c2pa.training-mining.v2", "cawg.training-mining__1"):
        assert training_mining(store({**a, "label": label})).verdict == "deny"
    assert training_mining(store({**a, "label": "c2pa.training-mining-other"})).verdict == "unknown"


def test_policy_c2pa_ingredient_manifest_reservation_counts():
    result = training_mining(store(extra_manifest=training_assertion(ai_training="notAllowed")))
    assert result.verdict == "deny" and "ingredient" in result.detail


def test_policy_c2pa_untrusted_or_invalid_signature_still_reserves():
    result = training_mining(store(training_assertion(ai_training="notAllowed"),
                                   status=("signingCredential.untrusted", "assertion.dataHash.mismatch")), "Invalid")
    assert result.verdict == "deny" and result.evidence()["trust_required"] is False
    assert result.evidence()["validation_failures"] == ["signingCredential.untrusted", "assertion.dataHash.mismatch"]


@pytest.mark.parametrize("bad", [None, {}, {"manifests": []}, {"manifests": {"m": "x"}},
                                 {"manifests": {"m": {"assertions": [{"label": "cawg.training-mining", "data": []}]}}},
                                 {"manifests": {"m": {"assertions": [{"label": "cawg.training-mining",
                                                                      "data": {"entries": {"cawg.ai_training": "no"}}}]}}}])
def test_c2pa_malformed_store_reserves_nothing_and_never_raises(bad):
    assert training_mining(bad).verdict == "unknown"


def test_cawg_unknown_use_value_is_not_an_allow():
    assert training_mining(store(training_assertion(ai_training="maybe"))).verdict == "unknown"


# --- real manifests, signed here ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reader():
    return C2paReader()


@pytest.mark.parametrize("make, mime, fmt", [(jpeg, "image/jpeg", "jpeg"), (png, "image/png", "png"),
                                             (webp, "image/webp", "webp")])
def test_cawg_signed_image_notallowed_reserves(make, mime, fmt, reader):
    data = c2pa_sign(make(), mime, [training_assertion(ai_training="notAllowed")])
    facts = read_image(data)
    assert facts.format == fmt and facts.c2pa_embedded and facts.problems == []
    read = reader.read(data, fmt)
    assert read.error is None and read.validation_state == "Valid"  # valid signature, signer not trusted
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=facts, c2pa=read)
    assert (sd.keep, sd.decision.reason) == (False, Reason.CONTENT_CREDENTIALS_RESERVED)
    ev = next(e for e in sd.evidence if e["source"] == "c2pa")
    assert "signingCredential.untrusted" in ev["validation_failures"] and ev["trust_required"] is False
    assert ev["entries"][0]["entry"] == "cawg.ai_training" and ev["signers"] == ["Test Signer / license-filter tests"]


def test_c2pa_legacy_label_constrained_reserves(reader):
    data = c2pa_sign(jpeg(), "image/jpeg", [training_assertion("c2pa.training-mining", ai_generative_training="constrained")])
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(data), c2pa=reader.read(data, "jpeg"))
    assert sd.decision.reason == Reason.CONTENT_CREDENTIALS_RESERVED
    assert sd.found["c2pa"] == ["c2pa.ai_generative_training=constrained"]


def test_cawg_signed_image_allowed_is_kept(reader):
    data = c2pa_sign(jpeg(), "image/jpeg", [training_assertion(ai_training="allowed", ai_generative_training="allowed",
                                                               data_mining="allowed")])
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(data), c2pa=reader.read(data, "jpeg"))
    assert (sd.keep, sd.decision.reason) == (True, Reason.KEPT)


def test_c2pa_trust_anchor_makes_the_signer_trusted_and_is_recorded():
    _, _, ca = signing_chain()
    data = c2pa_sign(jpeg(), "image/jpeg", [training_assertion(data_mining="notAllowed")])
    read = C2paReader(ca.decode()).read(data, "jpeg")
    assert read.validation_state == "Trusted"
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(data), c2pa=read)
    assert not sd.keep and next(e for e in sd.evidence if e["source"] == "c2pa")["validation_state"] == "Trusted"


def test_policy_c2pa_tampered_image_invalid_signature_still_reserves(reader):
    data = bytearray(c2pa_sign(jpeg(), "image/jpeg", [training_assertion(ai_training="notAllowed")]))
    data[-10] ^= 0xFF  # inside the entropy-coded image data: the hard binding no longer matches
    read = reader.read(bytes(data), "jpeg")
    assert read.validation_state == "Invalid"
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(bytes(data)), c2pa=read)
    assert sd.decision.reason == Reason.CONTENT_CREDENTIALS_RESERVED


def test_c2pa_damaged_store_is_unreadable_and_fails_closed(reader):
    data = bytearray(c2pa_sign(jpeg(), "image/jpeg", [training_assertion(ai_training="allowed")]))
    at = bytes(data).find(b"jumb")
    data[at + 40:at + 400] = b"\x00" * 360  # wreck the JUMBF boxes
    read = reader.read(bytes(data), "jpeg")
    facts = read_image(bytes(data))
    assert facts.c2pa_embedded and read.error is not None
    sd = decide_sample(PERMISSIVE, license_raw=BY, facts=facts, c2pa=read)
    assert (sd.keep, sd.decision.reason) == (False, Reason.IMAGE_METADATA_UNREADABLE)
    assert "could not be read" in next(e for e in sd.evidence if e["source"] == "c2pa")["detail"]


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_c2pa_remote_manifest_is_never_fetched():
    """A manifest stored only at a URL (on a real local server): the reader does not request it, and the
    sample fails closed as unreachable."""
    import c2pa

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/manifest.c2pa"
        chain, key, _ = signing_chain()
        manifest = {"claim_generator_info": [{"name": "t", "version": "0"}], "title": "t", "format": "image/jpeg",
                    "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}},
                        training_assertion(ai_training="notAllowed")]}
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, key, None))
        out = io.BytesIO()
        with c2pa.Builder(manifest) as builder:
            builder.set_no_embed()
            builder.set_remote_url(url)
            builder.sign(signer, "image/jpeg", io.BytesIO(jpeg()), out)
        data = out.getvalue()
        facts = read_image(data)
        assert not facts.c2pa_embedded and facts.xmp.provenance == [url]
        read = C2paReader().read(data, "jpeg")  # forced, although the headers say nothing is embedded
        assert read.remote_only and read.store is None and _CountingHandler.hits == []
        forced = decide_sample(PERMISSIVE, license_raw=BY, facts=facts, c2pa=read)
        assert forced.decision.reason == Reason.SOURCE_UNREACHABLE
        sd = decide_sample(PERMISSIVE, license_raw=BY, facts=facts, c2pa=None)
        assert (sd.keep, sd.decision.reason) == (False, Reason.SOURCE_UNREACHABLE)
        ignore = parse_policy('name = "x"\n[optout]\non_unreachable = "ignore"\n')
        assert decide_sample(ignore, license_raw=BY, facts=facts).decision.reason == Reason.KEPT_UNREACHABLE_IGNORED
    finally:
        server.shutdown()
        server.server_close()


def test_c2pa_presence_in_signed_files_matches_the_reader(reader):
    plain = jpeg()
    assert not scan_image(plain).c2pa and reader.read(plain, "jpeg").store is None


def test_c2pa_reading_never_asks_the_certificate_ocsp_responder():
    """The signer's certificate names an OCSP responder on a real local server: reading the manifest
    (with OCSP fetching off) sends it nothing, and the reservation still counts."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _CountingHandler.hits.clear()
        url = f"http://127.0.0.1:{server.server_address[1]}/ocsp"
        data = c2pa_sign(jpeg(), "image/jpeg", [training_assertion(ai_training="notAllowed")], ocsp_url=url)
        read = C2paReader().read(data, "jpeg")
        assert read.error is None and read.store is not None
        sd = decide_sample(PERMISSIVE, license_raw=BY, facts=read_image(data), c2pa=read)
        assert sd.decision.reason == Reason.CONTENT_CREDENTIALS_RESERVED
        assert _CountingHandler.hits == []
    finally:
        server.shutdown()
        server.server_close()
