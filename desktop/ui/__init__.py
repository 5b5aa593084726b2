"""All Qt code of the desktop app lives here, and only here."""

import sys

if sys.version_info < (3, 12):
    # PySide6 6.12's abi3 build returns None from every C++ method returning void without taking a
    # reference (Python 3.12 made None immortal; 3.11 did not): each such call (setText, setEnabled,
    # processEvents...) takes one reference from None, and the process aborts with "none_dealloc" once
    # they run out; about 3,000 characters typed into the report wizard did it. Giving None a reference
    # count no run can use up is what 3.12 does for every interpreter.
    import ctypes

    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
