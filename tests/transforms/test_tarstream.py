"""The raw tar stream reader/writer (transforms.tarstream) against archives written by Python's tarfile."""
from __future__ import annotations

import io
import tarfile

import pytest

from transforms.tarstream import TarStreamError, TarStreamWriter, iter_members

LONG = "deep/" * 30 + "000000001.jpg"  # > 100 characters: needs a pax or GNU long-name header


def _tar(fmt, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        d = tarfile.TarInfo("adir")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


MEMBERS = [("000000000.jpg", b"\xff\xd8" + b"x" * 700), (LONG, b"y" * 512), ("a/ünïcode.json", b"{}"), ("empty.txt", b"")]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_tarstream_reads_and_copies_members_verbatim(fmt):
    members = [m for m in MEMBERS if fmt != tarfile.USTAR_FORMAT or (len(m[0]) < 100 and m[0].isascii())]
    data = _tar(fmt, members)
    read = list(iter_members(io.BytesIO(data)))
    assert [(m.name, m.data) for m in read if m.regular] == members
    assert [m.name for m in read if not m.regular] == ["adir/"]  # tarfile writes directory names with a slash
    out = io.BytesIO()
    writer = TarStreamWriter(out)
    for m in read:
        if m.regular:
            writer.add(m)
    writer.close()
    assert len(out.getvalue()) % 10240 == 0
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert [(i.name, tar.extractfile(i).read()) for i in tar.getmembers()] == members


def test_tarstream_truncation_and_damage_raise():
    data = _tar(tarfile.PAX_FORMAT, MEMBERS)
    end = sum(len(b) for m in iter_members(io.BytesIO(data)) for b in m.raw)  # where the end blocks start
    for cut in (100, 700, 1536, end):
        with pytest.raises(TarStreamError, match="truncated"):
            list(iter_members(io.BytesIO(data[:cut])))
    damaged = bytearray(data)
    damaged[10] ^= 0x55
    with pytest.raises(TarStreamError, match="checksum"):
        list(iter_members(io.BytesIO(bytes(damaged))))
    with pytest.raises(TarStreamError, match="bad number|checksum"):
        list(iter_members(io.BytesIO(b"not a tar at all" * 64)))
