"""One module per probe; the registry in :mod:`desktop.diagnostics.registry` lists them."""
