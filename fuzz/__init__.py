"""edge-gru's own fuzz test: mutated artifacts of every kind the CLI reads, run and classified.

``make fuzz`` runs 2,000 cases (``python -m fuzz --cases 2000``); ``tests/cli/test_fuzz.py`` runs a short
campaign as part of ``make test``.
"""
