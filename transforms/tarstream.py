"""A tar archive read as a stream of members whose raw blocks can be copied verbatim (plain functions).

The images stage copies kept samples byte for byte. Python's ``tarfile`` re-encodes every header on
write and parses more than needed; this reader walks the 512-byte POSIX ustar headers itself (with
pax ``x`` and GNU ``L`` long-name headers), checks each header's checksum, and hands out each
member's name, data and raw blocks (headers + padded data) so a writer only concatenates bytes.

A header with a bad checksum, a member cut short, or a stream that ends without the end-of-archive
zero block raises :class:`TarStreamError`: a truncated shard is never read as a complete one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO
from collections.abc import Iterator

__all__ = ["TarMember", "TarStreamError", "iter_members", "TarStreamWriter"]

BLOCK = 512
RECORD = 20 * BLOCK
_ZERO = bytes(BLOCK)


class TarStreamError(ValueError):
    pass


@dataclass
class TarMember:
    name: str
    data: bytes
    raw: list[bytes]  # every block of the member, extension headers included, as read
    regular: bool  # a regular file (directories, links, devices are passed over)


def _number(field: bytes, where: int) -> int:
    if field and field[0] & 0x80:  # base-256 (GNU) for large values
        return int.from_bytes(field, "big") & ~(0x80 << (8 * (len(field) - 1)))
    text = field.split(b"\x00", 1)[0].strip()
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise TarStreamError(f"bad number {field!r} in the tar header at byte {where}") from None


def _read_exact(fh: BinaryIO, n: int, where: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise TarStreamError(f"{what} at byte {where} is cut short ({len(data)} of {n} bytes): the tar is truncated")
    return data


def _pax_records(data: bytes, where: int) -> dict[str, str]:
    out, pos = {}, 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise TarStreamError(f"bad pax record in the tar at byte {where}") from None
        record = data[space + 1:pos + length - 1]
        key, _, value = record.partition(b"=")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        if length <= 0:
            break
        pos += length
    return out


def iter_members(fh: BinaryIO) -> Iterator[TarMember]:
    """Every member of the tar stream ``fh``, in order."""
    offset = 0
    pending_raw: list[bytes] = []
    long_name: str | None = None
    pax: dict[str, str] = {}
    while True:
        header = fh.read(BLOCK)
        if len(header) == 0:
            raise TarStreamError(f"the tar ends at byte {offset} without its end-of-archive block: it is truncated")
        if len(header) != BLOCK:
            raise TarStreamError(f"tar header at byte {offset} is cut short: the tar is truncated")
        if header == _ZERO:
            return
        stored = _number(header[148:156], offset)
        if sum(header[:148]) + 256 + sum(header[156:]) != stored:
            raise TarStreamError(f"tar header at byte {offset} has a bad checksum (damaged or not a tar)")
        size = _number(header[124:136], offset)
        typeflag = header[156:157]
        if "size" in pax:
            if not pax["size"].isdigit():
                raise TarStreamError(f"bad pax size {pax['size']!r} for the member at byte {offset}")
            size = int(pax["size"])
        padded = -(-size // BLOCK) * BLOCK
        data_block = _read_exact(fh, padded, offset + BLOCK, "member data")
        data = data_block[:size]
        where = offset
        offset += BLOCK + padded
        if typeflag in (b"x", b"L", b"K", b"g"):
            if typeflag == b"x":
                pax = _pax_records(data, where)
            elif typeflag == b"L":
                long_name = data.split(b"\x00", 1)[0].decode("utf-8", "replace")
            if typeflag != b"g":
                pending_raw += [header, data_block]
            continue
        name = header[0:100].split(b"\x00", 1)[0].decode("utf-8", "replace")
        if header[257:263] == b"ustar\x00":
            prefix = header[345:500].split(b"\x00", 1)[0].decode("utf-8", "replace")
            if prefix:
                name = f"{prefix}/{name}"
        name = pax.get("path") or long_name or name
        yield TarMember(name, data, pending_raw + [header, data_block], typeflag in (b"0", b"\x00", b"7"))
        pending_raw, long_name, pax = [], None, {}


class TarStreamWriter:
    """Concatenates members' raw blocks; ``close`` writes the end-of-archive blocks and pads the record."""

    def __init__(self, fh: BinaryIO):
        self._fh = fh
        self._written = 0

    def add(self, member: TarMember) -> None:
        for block in member.raw:
            self._fh.write(block)
            self._written += len(block)

    def close(self) -> None:
        tail = 2 * BLOCK
        total = self._written + tail
        tail += -total % RECORD
        self._fh.write(bytes(tail))
