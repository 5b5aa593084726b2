"""Credentials by reference: settings never hold a secret, only where to find it.

``env:NAME``            the environment variable NAME;
``keyring:SERVICE/USER`` the OS keyring's entry (keyring package: Secret Service, macOS Keychain,
                        Windows Credential Locker);
``""``                  no credential.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from desktop.errors import ConfigError


def resolve(reference: str, setting: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret a reference points to; ConfigError naming ``setting`` when it cannot be found."""
    env = os.environ if environ is None else environ
    if not reference:
        return ""
    kind, _, where = reference.partition(":")
    if kind == "env" and where:
        if where not in env:
            raise ConfigError(f"{setting}: the environment variable {where} is not set")
        return env[where]
    if kind == "keyring" and "/" in where:
        service, _, user = where.partition("/")
        try:
            import keyring
            import keyring.errors
        except ImportError as exc:
            raise ConfigError(f"{setting}: the keyring package is not installed") from exc
        try:
            secret = keyring.get_password(service, user)
        except keyring.errors.KeyringError as exc:
            raise ConfigError(f"{setting}: the OS keyring could not be read: {exc}") from exc
        if secret is None:
            raise ConfigError(f"{setting}: no entry for {user!r} in the keyring's {service!r}")
        return secret
    # never echo the value: a secret pasted straight into the setting must not reach a log or a screen
    raise ConfigError(f"{setting}: not a credential reference: use env:NAME or keyring:SERVICE/USER, "
                      "never the secret itself")
