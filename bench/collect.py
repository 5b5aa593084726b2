"""How fast and how lean is `deskline collect`? Side by side with Ansible's `setup` module.

Runs, as whole processes on this machine, in the same run:
  deskline collect --format json           (the whole default report: every probe, findings, redaction)
  ansible localhost -c local -m setup      (Ansible's fact gathering, the reference)
and prints the median wall time of each, the ratio, the peak memory (max RSS) of the collector, and
the size of the compressed bundle of the default report.

Goals (issue 2): median under 0.5 s on a 2-core machine; at least 3x faster than `setup`;
peak memory under 80 MB; bundle under 256 KiB.

Usage: python bench/collect.py [--runs N]   (ansible-core comes with `pip install -e .[bench]`)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and max RSS (KiB) of one run of ``argv`` (a child process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed with {proc.returncode}: {err[-500:]}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss


def ansible_command() -> list[str] | None:
    exe = Path(sys.executable).with_name("ansible")
    found = str(exe) if exe.exists() else shutil.which("ansible")
    return [found, "localhost", "-c", "local", "-m", "setup"] if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    # An installed copy has its bytecode compiled at install time; do the same for this tree, so the
    # figures are not those of a first run that compiles every module (PYTHONDONTWRITEBYTECODE may be set).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "desktop"), str(ROOT / "agent")],
                   check=True, stdout=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if k not in ("DESKLINE_CONFIG", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(ROOT)
    env["ANSIBLE_LOCALHOST_WARNING"] = "False"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "False"
    collect = [sys.executable, "-m", "desktop", "collect", "--format", "json", "--output", os.devnull]
    ansible = ansible_command()

    timed(collect, env)  # warm the page cache once, as a user's second run would be
    if ansible:
        timed(ansible, env)
    ours: list[float] = []
    rss: list[int] = []
    theirs: list[float] = []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        t, m = timed(collect, env)
        ours.append(t)
        rss.append(m)
        if ansible:
            theirs.append(timed(ansible, env)[0])

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "report.zip"
        subprocess.run([sys.executable, "-m", "desktop", "collect", "--format", "bundle", "--output", str(bundle)],
                       env=env, check=True, cwd=ROOT)
        bundle_size = bundle.stat().st_size
        js = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "desktop", "collect", "--format", "json", "--output", str(js)],
                       env=env, check=True, cwd=ROOT)
        json_size = js.stat().st_size

    med = statistics.median(ours)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, runs: {args.runs}")
    print(f"deskline collect --format json   median {med * 1000:7.1f} ms  (min {min(ours) * 1000:.1f}, "
          f"max {max(ours) * 1000:.1f})   goal < 500 ms: {'met' if med < 0.5 else 'MISSED'}")
    peak = max(rss) / 1024
    print(f"deskline collect peak memory     {peak:7.1f} MB (max RSS)   goal < 80 MB: "
          f"{'met' if peak < 80 else 'MISSED'}")
    print(f"report.json size                 {json_size / 1024:7.1f} KiB")
    print(f"bundle (zip) size                {bundle_size / 1024:7.1f} KiB   goal < 256 KiB: "
          f"{'met' if bundle_size < 256 * 1024 else 'MISSED'}")
    if ansible:
        amed = statistics.median(theirs)
        print(f"ansible localhost -m setup       median {amed * 1000:7.1f} ms  (min {min(theirs) * 1000:.1f}, "
              f"max {max(theirs) * 1000:.1f})")
        ratio = amed / med
        print(f"ratio (ansible / deskline)       {ratio:7.2f}x   goal >= 3x: {'met' if ratio >= 3 else 'MISSED'}")
    else:
        print("ansible: not installed (pip install -e '.[bench]'); no comparison")
    return 0


if __name__ == "__main__":
    sys.exit(main())
