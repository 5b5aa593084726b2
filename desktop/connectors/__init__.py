"""Connectors to helpdesks: one small adapter per backend behind :class:`desktop.connectors.base.Connector`."""
