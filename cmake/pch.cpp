// Translation unit that owns the precompiled header (see TlrPch.cmake).
