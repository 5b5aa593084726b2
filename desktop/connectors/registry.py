"""The table of connectors: ``helpdesk.backend`` -> the module that builds its connector from the settings.

Adding a connector takes one line in :data:`BACKENDS`; its module defines::

    def from_settings(settings: desktop.config.Settings) -> desktop.connectors.base.Connector: ...

which reads its own ``helpdesk.*`` settings and credentials (by reference, :mod:`desktop.credentials`)
and raises :class:`~desktop.connectors.base.ConfigurationError` naming the setting at fault. Modules are
imported only when their backend is chosen, so a connector whose module is missing or broken makes
that backend unusable (a configuration problem naming ``helpdesk.backend``), never the others.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from desktop.connectors.base import ConfigurationError, Connector
from desktop.errors import ConfigError

if TYPE_CHECKING:
    from desktop.config import Settings

log = logging.getLogger("deskline.connectors")

#: helpdesk.backend -> module defining ``from_settings(settings) -> Connector``.
BACKENDS: dict[str, str] = {
    "local": "desktop.connectors.local",
    "django-helpdesk": "desktop.connectors.django_helpdesk",
    "redmine": "desktop.connectors.redmine",
    "rt": "desktop.connectors.rt",
    "zammad": "desktop.connectors.zammad",
    "glpi": "desktop.connectors.glpi",
    "jira": "desktop.connectors.jira",
    "email": "desktop.connectors.smtp",  # not "email": that would shadow the standard library package
    "webhook": "desktop.connectors.webhook",
}


def names() -> tuple[str, ...]:
    """The backends this Deskline knows (whether or not their module imports)."""
    return tuple(BACKENDS)


def from_settings(settings: Settings, backend: str | None = None) -> Connector:
    """The connector for ``backend`` (default: ``helpdesk.backend``), built from ``settings``.

    Raises :class:`ConfigurationError` (naming the setting) when the backend is unknown, its module
    cannot be imported, or its settings or credentials are wrong.
    """
    name = backend or settings["helpdesk.backend"]
    module_name = BACKENDS.get(name)
    if module_name is None:
        raise ConfigurationError(
            f"helpdesk.backend: {name!r} is not a known helpdesk (known: {', '.join(BACKENDS)})", "helpdesk.backend")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        log.debug("connector module %s failed to import", module_name, exc_info=True)
        raise ConfigurationError(
            f"helpdesk.backend: the {name!r} connector is not available in this Deskline ({exc})",
            "helpdesk.backend") from exc
    factory = getattr(module, "from_settings", None)
    if factory is None:
        raise ConfigurationError(f"helpdesk.backend: the {name!r} connector has no from_settings()",
                                 "helpdesk.backend")
    try:
        connector = factory(settings)
    except ConfigError as exc:  # a credential reference that cannot be resolved, a bad value
        raise ConfigurationError(str(exc), _setting_named_in(str(exc))) from exc
    if not isinstance(connector, Connector):
        raise ConfigurationError(f"helpdesk.backend: the {name!r} connector's from_settings() returned "
                                 f"{type(connector).__name__}, not a Connector", "helpdesk.backend")
    return connector


def _setting_named_in(message: str) -> str:
    """The setting a ConfigError's message starts with (``helpdesk.token: ...``), else helpdesk.backend."""
    from desktop.config import SCHEMA_BY_KEY

    head = message.split(":", 1)[0].strip()
    return head if head in SCHEMA_BY_KEY else "helpdesk.backend"
