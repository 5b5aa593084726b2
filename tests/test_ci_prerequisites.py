"""On CI the real peers must be there: a test that skips for want of a server proves nothing.

Locally a missing server skips its tests with the reason; with CI set (as `.ci/run` runs), the
servers `scripts/test` installs must be usable, or this fails and names what is missing.
"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("CI"), reason="checked on CI only (CI is not set)")


def test_openssh_server_is_usable() -> None:
    from tests.agent.sshd import skip_reason

    assert skip_reason() is None, skip_reason()


def test_django_helpdesk_is_installed() -> None:
    from tests.servers.django_helpdesk_server import available

    assert available() == ""


def test_redmine_is_installed() -> None:
    from tests.servers.redmine_server import unavailable_reason

    assert unavailable_reason() is None, unavailable_reason()


def test_runs_as_root_for_namespace_tests() -> None:
    # mount and network namespace tests (full disk, read-only mounts, fleets) need root
    assert os.geteuid() == 0, "CI runs as root here; the namespace tests would all skip"
