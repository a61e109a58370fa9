"""The ``newsbrief`` command line's core half: the parser and the commands that need only the core."""
