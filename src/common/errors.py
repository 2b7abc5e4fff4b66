"""Errors that are the user's to fix: shown as one clear line, never as a traceback."""


class UserError(Exception):
    """Bad input or settings; the message says what was wrong and where."""


class SettingsError(UserError):
    """An environment variable or option is missing or invalid."""
