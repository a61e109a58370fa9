"""The ``newsbrief`` console script's target.

Small on purpose: worker processes (``newsbrief.workers``) are spawned, and a spawned process
imports the parent's main script, which is the console script and so this module. Importing
``jobs.main`` here at the top would load the whole bot into every feed parser.
"""

from __future__ import annotations


def main() -> int:
    from jobs.main import main as run  # the whole bot, for the command that is running

    return run()
