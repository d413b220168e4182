"""`python -m compiler` is the `relay` command, for environments without the console script."""

from compiler.cli import main

main()
