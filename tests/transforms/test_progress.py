import io
import re

from transforms.progress import COUNTERS, Counters, ProgressLine, format_line


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_format_line_shows_rows_rate_and_eta():
    line = format_line({"rows": 500, "kept": 7, "authorities": 3}, 1000, 2.0)
    assert line == "rows 500/1,000 | kept 7 | authorities 3 | 250 rows/s | ETA 0:02"


def test_format_line_without_total_has_no_eta():
    assert "ETA" not in format_line({"rows": 10}, None, 1.0)


def test_quiet_when_not_a_terminal():
    stream = io.StringIO()
    counters = Counters()
    with ProgressLine(total_rows=10, stream=stream, counters=counters):
        counters.add("rows", 5)
    assert stream.getvalue() == ""
    assert counters.snapshot() == {}  # counting stays off too


def test_draws_on_a_terminal_and_ends_with_the_final_count():
    stream = _Tty()
    with ProgressLine(total_rows=10, stream=stream, interval=60):  # the process's counters, as the DoFns use them
        COUNTERS.add("rows", 10)
        COUNTERS.add("kept", 4)
    out = stream.getvalue()
    assert re.search(r"\r\x1b\[2Krows 10/10 \| kept 4 \| [\d,]+ rows/s\n$", out), out
    assert "\r" in out and out.endswith("\n")
    COUNTERS.add("rows", 1)  # disabled again after the run
    assert COUNTERS.snapshot() == {"rows": 10, "kept": 4}
