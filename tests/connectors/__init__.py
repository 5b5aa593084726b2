"""Tests of the helpdesk connectors."""
