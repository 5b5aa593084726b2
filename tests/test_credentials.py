"""Credentials by reference: env and keyring; a pasted secret is refused without being echoed."""

from __future__ import annotations

import pytest

from desktop import credentials
from desktop.errors import ConfigError


def test_env_reference() -> None:
    assert credentials.resolve("env:TOKEN", "helpdesk.token", {"TOKEN": "s3cr3t"}) == "s3cr3t"
    assert credentials.resolve("", "helpdesk.token", {}) == ""
    with pytest.raises(ConfigError, match="helpdesk.token: the environment variable TOKEN is not set"):
        credentials.resolve("env:TOKEN", "helpdesk.token", {})


def test_a_pasted_secret_is_refused_and_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        credentials.resolve("ghp_PastedStraightIn0123456789abcdef", "helpdesk.token", {})
    assert "ghp_" not in str(info.value)
    assert str(info.value).startswith("helpdesk.token: not a credential reference")


def test_keyring_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.store = {("deskline", "redmine"): "k3y"}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        assert credentials.resolve("keyring:deskline/redmine", "helpdesk.token") == "k3y"
        with pytest.raises(ConfigError, match="no entry for 'nobody'"):
            credentials.resolve("keyring:deskline/nobody", "helpdesk.token")
    finally:
        keyring.set_keyring(previous)
