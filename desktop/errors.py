"""The project's exception tree: every error Deskline raises on purpose derives from DesklineError.

Each message names the thing at fault (host, probe, file, setting or field) so it can be shown to a
person as one line.
"""


class DesklineError(Exception):
    """Base of all errors Deskline raises on purpose."""


class ConfigError(DesklineError):
    """A settings file or value is wrong; the message names the file, line and setting."""


class UsageError(DesklineError):
    """The command line asked for something that cannot be done (unknown probe, bad path, ...)."""


class ReportError(DesklineError):
    """A report document is malformed or cannot be written."""
