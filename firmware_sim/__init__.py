"""Microcontroller simulation: targets, cross-compilation, emulation, cycle model.

Depends on :mod:`edge_gru` and :mod:`converters`; nothing depends on it.
"""
