"""`python -m hitl.cli`: the `hitl` command."""

from hitl.cli.entry import console_main

console_main()
