"""The console's table: what a cut-off error would hide is printed whole after it."""

from __future__ import annotations

from agent.console import HostResult
from agent.inventory import Target
from agent.output import to_table


def test_long_errors_follow_the_table_whole() -> None:
    advice = "then trust it on purpose with: deskline-agent trust 10.0.0.5:2222 --fingerprint SHA256:abc"
    bad = HostResult(Target("pc-1", "10.0.0.5", 2222), "agent", "host_key_unknown", 5.0,
                     error="host key not known: ssh-ed25519 SHA256:abc. Compare this fingerprint ... " + advice)
    fine = HostResult(Target("pc-2", "10.0.0.6", 2222), "agent", "unreachable", 5.0, error="refused")
    table = to_table([bad, fine], width=80)
    head, _, tail = table.partition("\n\n")
    assert "…" in head and advice not in head
    assert tail.startswith("pc-1: host key not known") and advice in tail
    assert "pc-2: refused" not in tail  # short errors are already whole in the table
