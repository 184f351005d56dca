"""The hotline's kernel: settings, the database, encryption and its keys, the
clock, the error tree and the translation marker.

Dependencies run one way, `core` <- `bot` <- `flows` <- `api`: the kernel
imports nothing else of the hotline (a test in `tests/test_layers.py` keeps it
so), and every feature in `bot/` builds on it.
"""
