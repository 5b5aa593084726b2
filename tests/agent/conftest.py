"""Fixtures shared by the agent's tests: a real OpenSSH sshd on loopback (see tests/agent/sshd.py)."""

from tests.agent.sshd import sshd_factory

__all__ = ["sshd_factory"]
