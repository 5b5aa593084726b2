"""The diagnostics engine: probes, findings, the report and redaction. No Qt here, ever."""
