"""The cpu probe on this machine, and its arithmetic on recorded CPU time samples."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import namedtuple
from collections.abc import Iterator

import psutil
import pytest

from desktop.diagnostics.base import ProbeContext
from desktop.diagnostics.probes import cpu

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def test_real_values_agree_with_the_os() -> None:
    r = cpu.collect(ProbeContext(settings={"processes.sample_seconds": 0.05}))
    assert r.logical_cores == os.cpu_count()
    assert len(r.per_core_percent) == r.logical_cores
    assert all(0.0 <= p <= 100.0 for p in r.per_core_percent)
    assert 0.0 <= r.usage_percent <= 100.0
    assert r.sample_seconds == 0.05
    load = os.getloadavg()
    assert r.load_15 == pytest.approx(load[2], abs=0.5)
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        models = {line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")}
    assert r.model in models


@pytest.fixture
def burner() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


def test_a_busy_core_shows(burner: subprocess.Popen[bytes]) -> None:
    psutil.Process(burner.pid).cpu_percent(0.2)  # let it get going
    r = cpu.collect(ProbeContext(settings={"processes.sample_seconds": 0.3}))
    # one process spinning keeps about one core busy: the machine-wide figure shows at least half a core
    assert sum(r.per_core_percent) >= 50.0, r.per_core_percent
    assert r.usage_percent >= 50.0 / r.logical_cores


def test_percentages_from_recorded_samples() -> None:
    before = Times(100, 0, 50, 800, 10, 0, 0, 0, 5, 0)
    after = Times(130, 0, 60, 850, 20, 0, 0, 10, 8, 0)  # 100 ticks: 30 user, 10 system, 50 idle, 10 iowait
    out = cpu._percentages(before, after)
    # guest time is already inside user time: not counted twice
    assert out["busy"] == pytest.approx(100 * (110 - 60) / 110)
    assert out["iowait"] == pytest.approx(round(100 * 10 / 110, 1))
    assert out["steal"] == pytest.approx(round(100 * 10 / 110, 1))
    assert cpu._percentages(before, before) == {"busy": 0.0, "iowait": 0.0}
