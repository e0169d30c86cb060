"""Images stage benchmark: samples per second per core on typical 256-512 px JPEGs.

    python -m benchmarks.images_bench                 # 20,000 samples in 4 webdataset shards
    python -m benchmarks.images_bench --samples 4000 --smoke

Generates img2dataset-like webdataset shards (JPEGs of 256-512 px, quality 90, with the metadata
real files carry: EXIF on most, XMP rights on 20%, an IPTC Data Mining prohibition on 5%, a C2PA
manifest signed offline on 1%), then measures, in this one process and on the same shards:

- ``ours``: :func:`transforms.images.process_shard` (header walk, XMP parse, C2PA reader only where a
  manifest store is embedded, decision, kept/rejected tars, per-sample audit);
- ``floor``: reading the tar stream and writing every member back with our raw tar stream (the I/O
  any filter pays);
- ``tarfile-copy``: the same with Python's ``tarfile`` (the obvious implementation);
- ``pillow``: ``PIL.Image.open`` + ``getxmp()`` per image, the obvious way to read XMP (no decision,
  no output);
- ``c2pa-every-image``: c2pa-python's Reader on every image (what a C2PA-only peer does).

Per-core rates use the process's CPU time (``time.process_time``), so a busy shared machine does not
distort them; wall times are reported beside them. Figures go to benchmarks/results/images-latest.json.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from .common import RESULTS_DIR, machine, write_result

__all__ = ["main"]


def _image(rnd: random.Random) -> bytes:
    from PIL import Image, ImageDraw, ImageFilter

    w, h = rnd.randint(256, 512), rnd.randint(256, 512)
    img = Image.new("RGB", (w, h), tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rnd.randrange(w), rnd.randrange(h)
        draw.ellipse((x, y, x + rnd.randint(10, 120), y + rnd.randint(10, 120)),
                     fill=tuple(rnd.randrange(256) for _ in range(3)))
    img = img.filter(ImageFilter.GaussianBlur(1))
    noise = Image.effect_noise((w, h), 30).convert("RGB")
    img = Image.blend(img, noise, 0.15)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _generate(directory: Path, samples: int, shards: int, seed: int) -> dict:
    from tests.imagekit import BY, VOCAB, app1_xmp, c2pa_sign, sample_meta, segment, training_assertion, xmp

    rnd = random.Random(seed)
    bases = [_image(rnd) for _ in range(min(200, samples))]
    exif = segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01" + bytes.fromhex("8298000200000010" + "0000001a")
                   + b"\x00\x00\x00\x00" + b"(c) Photographer")
    signed = [c2pa_sign(b, "image/jpeg", [training_assertion(ai_training=rnd.choice(["notAllowed", "allowed"]))])
              for b in bases[:5]]
    counts = {"plain": 0, "exif": 0, "xmp": 0, "iptc_prohibited": 0, "c2pa": 0}
    directory.mkdir(parents=True, exist_ok=True)
    per_shard = -(-samples // shards)
    n = 0
    for s in range(shards):
        with tarfile.open(directory / f"{s:05d}.tar", "w") as tar:
            for _ in range(min(per_shard, samples - n)):
                key = f"{n:09d}"
                base = rnd.choice(bases)
                roll = rnd.random()
                if roll < 0.01:
                    data, kind = rnd.choice(signed), "c2pa"
                elif roll < 0.06:
                    packet = xmp(f'plus:DataMining="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"')
                    data, kind = base[:2] + exif + app1_xmp(packet) + base[2:], "iptc_prohibited"
                elif roll < 0.26:
                    packet = xmp(f'cc:license="{BY}" xmpRights:Marked="True"',
                                 '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) Someone</rdf:li></rdf:Alt></dc:rights>'
                                 '<dc:creator><rdf:Seq><rdf:li>Someone</rdf:li></rdf:Seq></dc:creator>' + " " * 2048)
                    data, kind = base[:2] + exif + app1_xmp(packet) + base[2:], "xmp"
                elif roll < 0.80:
                    data, kind = base[:2] + exif + base[2:], "exif"
                else:
                    data, kind = base, "plain"
                counts[kind] += 1
                meta = json.dumps(sample_meta(key, f"http://img{n % 97}.example/{key}.jpg")).encode()
                for name, body in ((f"{key}.jpg", data), (f"{key}.txt", b"a caption"), (f"{key}.json", meta)):
                    info = tarfile.TarInfo(name)
                    info.size = len(body)
                    tar.addfile(info, io.BytesIO(body))
                n += 1
    sizes = [len(b) for b in bases]
    return {"samples": samples, "shards": shards, "mix": counts, "jpeg_bytes_mean": int(sum(sizes) / len(sizes))}


def _timed(fn) -> tuple[float, float, object]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def _ours(shards: list[Path], out: Path) -> dict:
    from license_rules.policy import load_policy
    from transforms.images import C2paReader, ImagesConfig, process_shard

    cfg = ImagesConfig(input_dir=str(shards[0].parent), output=str(out), layout="webdataset",
                       policy=load_policy("permissive"), write_rejected=True)
    reader = C2paReader()
    return [process_shard(str(s), cfg, reader)["stats"] for s in shards]


def _floor(shards: list[Path], out: Path) -> int:
    from transforms.tarstream import TarStreamWriter, iter_members

    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in shards:
        with open(s, "rb") as fh, open(out / s.name, "wb") as oh:
            writer = TarStreamWriter(oh)
            for member in iter_members(fh):
                writer.add(member)
                n += member.name.endswith(".jpg")
            writer.close()
    return n


def _tarfile_copy(shards: list[Path], out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in shards:
        with open(s, "rb") as fh, tarfile.open(fileobj=fh, mode="r|*") as tin, \
                open(out / s.name, "wb") as oh, tarfile.open(fileobj=oh, mode="w|") as tout:
            for info in tin:
                data = tin.extractfile(info).read()
                tout.addfile(info, io.BytesIO(data))
                n += info.name.endswith(".jpg")
    return n


def _images(shards: list[Path]):
    for s in shards:
        with open(s, "rb") as fh, tarfile.open(fileobj=fh, mode="r|*") as tin:
            for info in tin:
                if info.name.endswith(".jpg"):
                    yield tin.extractfile(info).read()


def _pillow(shards: list[Path]) -> int:
    from PIL import Image

    n = 0
    for data in _images(shards):
        with Image.open(io.BytesIO(data)) as im:
            im.getxmp()
        n += 1
    return n


def _c2pa_every(shards: list[Path]) -> int:
    from transforms.images import C2paReader

    reader = C2paReader()
    n = 0
    for data in _images(shards):
        reader.read(data, "jpeg")
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.images_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny (checks only; figures not written)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.smoke:
        args.samples, args.shards = min(args.samples, 300), 1
    with tempfile.TemporaryDirectory(prefix="lf-images-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        data = _generate(root / "in", args.samples, args.shards, args.seed)
        data["generate_s"] = round(time.perf_counter() - t0, 1)
        shards = sorted((root / "in").glob("*.tar"))
        rows = {}
        _generate(root / "warm", 50, 1, args.seed + 1)  # one-time costs (imports, C2PA context, tables) first
        _ours(sorted((root / "warm").glob("*.tar")), root / "warm-out")
        wall, cpu, stats = _timed(lambda: _ours(shards, root / "out"))
        total = sum(s["input"] for s in stats)
        ok = total == args.samples and all(s["kept"] + s["rejected"] + s["errors"] == s["input"] for s in stats)
        rows["ours"] = (wall, cpu, total)
        rows["floor"] = (*_timed(lambda: _floor(shards, root / "floor"))[:2], args.samples)
        rows["tarfile-copy"] = (*_timed(lambda: _tarfile_copy(shards, root / "tarfile"))[:2], args.samples)
        rows["pillow"] = (*_timed(lambda: _pillow(shards))[:2], args.samples)
        c2pa_n = min(args.samples, 2000)
        rows["c2pa-every-image"] = (*_timed(lambda: _c2pa_every(shards[:1]))[:2], min(c2pa_n, args.samples // args.shards))
        result = {"data": data, "machine": machine(), "consistent": ok, "variants": {}}
        print(f"{'variant':<18} {'samples':>8} {'wall s':>8} {'cpu s':>8} {'samples/s/core':>15}")
        for name, (w, c, n) in rows.items():
            per_core = n / c if c else float("inf")
            result["variants"][name] = {"samples": n, "wall_s": round(w, 3), "cpu_s": round(c, 3),
                                        "samples_per_s_per_core": round(per_core)}
            print(f"{name:<18} {n:>8,} {w:>8.2f} {c:>8.2f} {per_core:>15,.0f}")
        ours = result["variants"]["ours"]["samples_per_s_per_core"]
        result["target_samples_per_s_per_core"] = 2000
        result["target_met"] = ours >= 2000
        result["ours_over_floor"] = round(ours / result["variants"]["floor"]["samples_per_s_per_core"], 3)
        result["ours_over_c2pa_every_image"] = round(ours / result["variants"]["c2pa-every-image"]["samples_per_s_per_core"], 1)
        print(f"ours: {ours:,} samples/s/core (target 2,000: {'met' if result['target_met'] else 'MISSED'}); "
              f"ours/floor {result['ours_over_floor']}; ours/c2pa-every-image {result['ours_over_c2pa_every_image']}x; "
              f"accounting {'OK' if ok else 'FAILED'}")
        if not args.smoke:
            print(f"written: {write_result(result, args.results_dir, 'images')}")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
