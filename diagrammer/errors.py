"""Errors the CLI turns into a one-line message and exit code 2."""


class UserError(Exception):
    """Bad input from the person at the keyboard: say why in one line, no traceback."""
