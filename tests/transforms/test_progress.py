import io
import re

from transforms import progress
from transforms.progress import ProgressLine, format_line


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
    with ProgressLine(total_rows=10, stream=stream):
        progress.add("rows", 5)
    assert stream.getvalue() == ""
    assert progress._counts.get("rows", 0) == 0  # counting stays off too


def test_draws_on_a_terminal_and_ends_with_the_final_count():
    stream = _Tty()
    with ProgressLine(total_rows=10, stream=stream, interval=60):
        progress.add("rows", 10)
        progress.add("kept", 4)
    out = stream.getvalue()
    assert re.search(r"\r\x1b\[2Krows 10/10 \| kept 4 \| [\d,]+ rows/s\n$", out), out
    assert "\r" in out and out.endswith("\n")
    progress.add("rows", 1)  # disabled again after the run
    assert progress._counts["rows"] == 10
