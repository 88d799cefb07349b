"""``python -m backproplab``: the same as the ``backproplab`` command."""

from .cli import main

main()
