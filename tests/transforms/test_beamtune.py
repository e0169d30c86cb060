"""The state sampler's period: lowered for the installed Beam (so a long bundle's end does not wait up
to 200 ms for the sampler thread), and left alone on a Beam whose sampler is not the known one.
Each check runs in a fresh interpreter: the change is process-wide."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1]


def test_installed_beam_sampler_gets_the_short_period_and_a_pipeline_uses_it():
    out = _run("""
import apache_beam as beam
from apache_beam.runners.worker import statesampler
from transforms.beamtune import shorten_state_sampling, SAMPLING_PERIOD_MS
assert statesampler.StateSampler('x', None).sampling_period_ms == 200  # Beam's own default first
assert shorten_state_sampling() and shorten_state_sampling()  # applied, and idempotent
seen = []
real = statesampler.StateSampler.__init__
def spy(self, *a, **k):
    real(self, *a, **k)
    seen.append(self.sampling_period_ms)
statesampler.StateSampler.__init__ = spy
with beam.Pipeline(runner='FnApiRunner') as p:
    p | beam.Create([1, 2, 3]) | beam.Map(lambda x: x + 1)
assert seen and set(seen) == {SAMPLING_PERIOD_MS}, seen
print('ok')
""")
    assert out == "ok"


def test_an_unknown_sampler_is_left_alone():
    out = _run("""
from apache_beam.runners.worker import statesampler
from transforms.beamtune import shorten_state_sampling
statesampler.StateSampler.__init__.__defaults__ = (250,)  # a Beam with another default
assert shorten_state_sampling() is False
assert statesampler.StateSampler.__init__.__defaults__ == (250,)
print('ok')
""")
    assert out == "ok"
