"""``python -m twin``: the ``twin`` command."""

from twin.cli import run

run()
