"""The C encoder (cffi, API mode, built at install) and its pure-Python twin, with the same API
and byte-identical results.

May import the stdlib and cffi only; never ``gateway``.
"""
