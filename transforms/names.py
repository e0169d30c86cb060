"""Caption name opt-outs over a whole batch: the caption column is folded, one automaton pass matches.

The matching rules and the name list live in :mod:`license_rules.names`; this module only does the
column work (folding, joining, offsets) with Arrow and hands the joined text over.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from license_rules.names import SEPARATOR, NameOptOut, fold_text

__all__ = ["caption_name_hits", "fold"]


def fold(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """NFKC case folding of a string column (nulls stay null), exactly ``license_rules.names.fold_text``.

    ASCII captions (NFKC leaves them as they are) are lower-cased by an Arrow kernel; only the others
    go through :func:`fold_text`, one call per such caption. (Arrow's ``utf8_normalize`` is not used:
    in pyarrow 25 its NFKC leaves ``o`` + U+0304 decomposed, so names and captions would disagree.)
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    out = pc.ascii_lower(values)
    other = pc.invert(pc.fill_null(pc.string_is_ascii(values), True))
    if pc.any(other).as_py():
        folded = [fold_text(text) for text in pc.filter(values, other).to_pylist()]
        out = pc.replace_with_mask(out, other, pa.array(folded, pa.string()))
    return out


def caption_name_hits(names: NameOptOut, captions: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per caption, the index of the person of ``names`` it names, or -1."""
    folded = pc.fill_null(fold(captions), "")
    lengths = pc.utf8_length(folded).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])) if len(lengths) else np.zeros(0, np.int64)
    return names.match_joined(SEPARATOR.join(folded.to_pylist()), starts)
