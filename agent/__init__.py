"""The Deskline agent: SSH server on the user's machine and the engineer console. No Qt here."""
