"""``python -m edge_gru.cli``."""

from edge_gru.cli import main

main()
