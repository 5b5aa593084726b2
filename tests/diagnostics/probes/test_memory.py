"""The memory probe: parsing of recorded /proc files and real values cross-checked on this machine."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

from desktop.diagnostics.base import ProbeContext, ProbeError, Unsupported, to_jsonable
from desktop.diagnostics.probes import memory

FIXTURES = Path(__file__).parents[2] / "fixtures" / "memory"
KIB = 1024
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_recorded_pressured_laptop() -> None:
    r = memory.collect_linux(FIXTURES / "pressured")
    assert r.total_bytes == 16088400 * KIB
    assert r.available_bytes == 598212 * KIB
    assert r.used_bytes == (16088400 - 598212) * KIB
    assert r.used_percent == pytest.approx(96.3, abs=0.05)
    assert r.swap_total_bytes == 2097148 * KIB
    assert r.swap_used_bytes == (2097148 - 167772) * KIB
    assert r.swap_used_percent == pytest.approx(92.0, abs=0.05)
    page = os.sysconf("SC_PAGE_SIZE")
    assert r.swap_in_bytes == 1403391 * page
    assert r.swap_out_bytes == 2245977 * page
    assert (r.psi_some_avg10, r.psi_some_avg60, r.psi_some_avg300) == (42.17, 35.80, 18.02)
    assert (r.psi_full_avg10, r.psi_full_avg60, r.psi_full_avg300) == (20.51, 14.93, 6.40)
    assert r.committed_bytes == 31447768 * KIB
    assert r.commit_limit_bytes == 10141348 * KIB
    assert r.commit_percent == pytest.approx(310.1, abs=0.05)
    assert r.cached_bytes == (912880 + 12044 + 184332) * KIB
    assert r.shared_bytes == 1288444 * KIB
    assert r.kernel_unreclaimable_bytes == 228544 * KIB
    assert r.hugepages_bytes == 0
    assert r.oom_kills == 3


def test_old_kernel_without_memavailable_psi_or_swap() -> None:
    r = memory.collect_linux(FIXTURES / "old_kernel")
    # no MemAvailable (before Linux 3.14): free + buffers + cache + reclaimable slab
    assert r.available_bytes == (501232 + 120044 + 1912880 + 104332) * KIB
    assert r.swap_total_bytes == 0
    assert r.swap_used_percent is None
    assert r.psi_some_avg60 is None
    assert r.psi_full_avg300 is None
    assert r.oom_kills is None  # no oom_kill counter before 4.13
    assert r.hugepages_bytes is None


def test_missing_meminfo_is_a_probe_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="meminfo"):
        memory.collect_linux(tmp_path)


def test_meminfo_without_memtotal_is_a_probe_error(tmp_path: Path) -> None:
    (tmp_path / "meminfo").write_text("MemFree: 1000 kB\n")
    with pytest.raises(ProbeError, match="MemTotal"):
        memory.collect_linux(tmp_path)


def test_parse_psi_ignores_garbage() -> None:
    parsed = memory.parse_psi("some avg10=1.5 avg60=x avg300=3.0 total=12\nbogus line\n")
    assert parsed == {"some": {"avg10": 1.5, "avg300": 3.0}}


@linux_only
def test_real_values_agree_with_proc_and_psutil() -> None:
    r = memory.collect(ProbeContext())
    assert isinstance(r, memory.MemoryResult)
    with open("/proc/meminfo", encoding="ascii") as fh:
        memtotal = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:"))
    assert r.total_bytes == memtotal * KIB
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    assert r.total_bytes == vm.total
    assert abs(r.available_bytes - vm.available) < 0.05 * vm.total  # both moving, read moments apart
    assert 0 < r.available_bytes <= r.total_bytes
    assert r.used_bytes + r.available_bytes == r.total_bytes
    assert 0.0 <= r.used_percent <= 100.0
    assert r.swap_total_bytes == sw.total
    assert (r.swap_used_percent is None) == (sw.total == 0)
    assert r.commit_limit_bytes is not None
    assert r.commit_limit_bytes > 0
    assert r.committed_bytes is not None
    assert r.committed_bytes > 0
    if os.path.exists("/proc/pressure/memory"):
        assert r.psi_some_avg60 is not None
        assert 0.0 <= r.psi_some_avg60 <= 100.0
    else:
        assert r.psi_some_avg60 is None


@linux_only
def test_real_values_agree_with_free() -> None:
    free = shutil.which("free")
    if free is None:
        pytest.skip("procps free is not installed")
    out = ProbeContext().run([free, "-b"], timeout=5, check=True).stdout
    mem = next(line.split() for line in out.splitlines() if line.startswith("Mem:"))
    swap = next(line.split() for line in out.splitlines() if line.startswith("Swap:"))
    r = memory.collect(ProbeContext())
    assert r.total_bytes == int(mem[1])
    assert abs(r.available_bytes - int(mem[6])) < 0.05 * r.total_bytes
    assert r.swap_total_bytes == int(swap[1])


@linux_only
def test_staged_shared_memory_shows_up(tmp_path: Path) -> None:
    """A real 128 MiB file on tmpfs (/dev/shm) is RAM held as shared memory: the probe must see it."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm")
    before = memory.collect(ProbeContext())
    path = shm / f"deskline-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        with open(path, "wb") as fh:
            block = b"\xa5" * (1024 * 1024)
            for _ in range(128):
                fh.write(block)
        during = memory.collect(ProbeContext())
    finally:
        path.unlink(missing_ok=True)
    assert before.shared_bytes is not None
    assert during.shared_bytes is not None
    assert during.shared_bytes - before.shared_bytes >= 100 * 1024 * 1024


def test_psutil_path_for_other_platforms() -> None:
    r = memory._collect_psutil(ProbeContext(platform="windows"))
    assert r.total_bytes == psutil.virtual_memory().total
    assert r.swap_in_bytes is None
    assert r.swap_out_bytes is None
    assert r.psi_some_avg60 is None
    assert r.committed_bytes is None


def test_unknown_platform_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="not supported on plan9"):
        memory.collect(ProbeContext(platform="plan9"))


@linux_only
def test_fast_and_small() -> None:
    ctx = ProbeContext()
    memory.collect(ctx)
    start = time.perf_counter()
    r = memory.collect(ctx)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.05
    assert len(json.dumps(to_jsonable(r))) < 2048
    assert dataclasses.is_dataclass(r)
