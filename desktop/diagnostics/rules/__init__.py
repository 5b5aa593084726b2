"""Findings rules, one module per area; each registers its rules with desktop.diagnostics.findings.rule."""
