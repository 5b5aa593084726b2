"""Deskline: a desktop helpdesk client with remote diagnostics."""

__version__ = "0.1.0"
