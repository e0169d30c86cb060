"""A small launcher that runs one command and reports its rusage: ``python -m benchmarks._launch OUT.json CMD...``.

Why: Linux carries a process's RSS high-water mark across ``exec`` from the address space it
replaced, so a child forked straight from the (large) benchmark process reports at least the
parent's RSS as its ``ru_maxrss``. This launcher is a small fresh interpreter: the command it
forks starts from the launcher's few MiB, so the peak RSS reported is the command's own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"exit_code": code, "maxrss_kib": usage.ru_maxrss, "utime": usage.ru_utime, "stime": usage.ru_stime},
                  handle)
    return code if code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
