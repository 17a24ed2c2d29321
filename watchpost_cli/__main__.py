"""`python -m watchpost_cli`: the same as the `watchpost` command."""

from watchpost_cli import main

main()
