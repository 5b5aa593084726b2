"""All Qt code of the desktop app lives here, and only here."""
