"""`python -m nestlab.cli` runs the `nestlab` command."""
from nestlab.cli import main

main()
