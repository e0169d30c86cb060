"""Training-and-data-mining assertions in a C2PA manifest store (pure).

``training_mining(store, validation_state)`` reads the manifest store JSON that c2pa-python's
``Reader.json()`` returns and finds every ``cawg.training-mining`` (CAWG 1.1) and
``c2pa.training-mining`` (C2PA 1.x) assertion in every manifest of the store (the active one and
those of its ingredients). Entries ``ai_training``, ``ai_generative_training`` and ``data_mining``
whose ``use`` is ``notAllowed`` or ``constrained`` reserve AI training (CAWG: ``constrained`` counts
as ``notAllowed``); ``ai_inference`` is recorded, not a reservation of training.

Trust is recorded, never required: a reservation counts whatever the signature's validation state
(an untrusted or even invalid signer's "notAllowed" still reserves; *policy*: fail closed). An
"allowed" from a manifest whose signature does not validate is recorded as such but still counts
as "allow" only in the sense that nothing is reserved.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from .xmp import vocabulary

__all__ = ["C2paEntry", "C2paResult", "training_mining"]


@dataclass(frozen=True)
class C2paEntry:
    manifest: str
    active: bool
    label: str  # the assertion label as written
    entry: str  # the entry key as written, e.g. "cawg.ai_training"
    use: str
    constraint_info: str | None = None

    @property
    def name(self) -> str:
        return self.entry.split(".", 1)[-1]

    def as_dict(self) -> dict[str, Any]:
        out = {"manifest": self.manifest, "active": self.active, "assertion": self.label, "entry": self.entry,
               "use": self.use}
        if self.constraint_info:
            out["constraint_info"] = self.constraint_info
        return out


@dataclass
class C2paResult:
    verdict: str  # deny | allow | unknown
    detail: str
    entries: list[C2paEntry] = field(default_factory=list)
    validation_state: str | None = None
    failures: list[str] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"entries": [e.as_dict() for e in self.entries]}
        if self.validation_state:
            out["validation_state"] = self.validation_state
        if self.failures:
            out["validation_failures"] = self.failures
        if self.signers:
            out["signers"] = self.signers
        out["trust_required"] = False
        return out


def _label_matches(label: str, wanted: tuple[str, ...]) -> bool:
    for w in wanted:
        if label == w or label.startswith((w + ".v", w + "__")):
            return True
    return False


def training_mining(store: Mapping[str, Any] | None, validation_state: str | None = None) -> C2paResult:
    """The store's training-and-data-mining verdict, its entries, and its signature status."""
    conf = vocabulary()["c2pa"]
    labels = tuple(conf["labels"])
    reserving = set(conf["reserving_entries"])
    reserving_uses = set(conf["reserving_uses"])
    allowing_uses = set(conf["allowing_uses"])
    if not isinstance(store, Mapping):
        return C2paResult("unknown", "no manifest store")
    manifests = store.get("manifests")
    if not isinstance(manifests, Mapping):
        manifests = {}
    active = store.get("active_manifest")
    entries: list[C2paEntry] = []
    signers: list[str] = []
    for mlabel, manifest in manifests.items():
        if not isinstance(manifest, Mapping):
            continue
        sig = manifest.get("signature_info")
        if isinstance(sig, Mapping):
            who = " / ".join(str(sig[k]) for k in ("common_name", "issuer") if sig.get(k))
            if who and who not in signers:
                signers.append(who)
        for assertion in manifest.get("assertions") or ():
            if not isinstance(assertion, Mapping):
                continue
            alabel = assertion.get("label")
            if not isinstance(alabel, str) or not _label_matches(alabel, labels):
                continue
            data = assertion.get("data")
            items = data.get("entries") if isinstance(data, Mapping) else None
            if not isinstance(items, Mapping):
                continue
            for key, value in items.items():
                use = value.get("use") if isinstance(value, Mapping) else None
                info = value.get("constraint_info") if isinstance(value, Mapping) else None
                entries.append(C2paEntry(str(mlabel), mlabel == active, alabel, str(key), str(use),
                                         str(info) if info is not None else None))
    failures = []
    for status in store.get("validation_status") or ():
        if isinstance(status, Mapping) and status.get("code"):
            failures.append(str(status["code"]))
    result = C2paResult("unknown", "", entries, validation_state, failures, signers)
    denies = [e for e in entries if e.name in reserving and e.use in reserving_uses]
    allows = [e for e in entries if e.name in reserving and e.use in allowing_uses]
    trust = f"signature {validation_state or 'state unknown'}" + (f" ({', '.join(failures)})" if failures else "")
    if denies:
        first = denies[0]
        result.verdict = "deny"
        result.detail = (f"{first.label} {first.entry}={first.use}"
                         + (f" and {len(denies) - 1} more" if len(denies) > 1 else "")
                         + f" in {'the active' if first.active else 'an ingredient'} manifest; {trust}")
    elif allows:
        result.verdict = "allow"
        result.detail = f"{allows[0].label}: training and mining allowed; {trust}"
    elif entries:
        result.detail = f"{entries[0].label} present but reserves nothing recognised for training; {trust}"
    elif manifests:
        result.detail = f"manifest store without a training-mining assertion; {trust}"
    else:
        result.detail = "manifest store without manifests"
    return result
