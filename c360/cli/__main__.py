"""``python -m c360.cli``: the ``c360`` command."""

from c360.cli import main

main()
