"""Logging for the command line, with a redaction filter on every handler.

The code never logs a secret on purpose; the filter is the second line of defence for what
libraries log (python-telegram-bot puts the token in its URLs, exceptions quote their
arguments). It masks the message, the formatted traceback and the stack of every record, and
the interpreter's own report of an uncaught exception goes through the same redactor.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from newsbrief.redaction import Redactor

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore", "alembic", "aiohttp.access", "telegram.ext")
"""Libraries whose INFO lines are one per request or run (a line per HTTP request): WARNING and
up only, also with ``-v``, which is for newsbrief's own detail."""
SCHEDULER = "apscheduler"
"""ERROR and up only: its INFO lines are a job added or run, its warnings a tick that ran past
its interval ("skipped: maximum number of running instances reached"), which the next run
catches up on by design. Each tick that did something logs a summary line of its own."""


class SecretFilter(logging.Filter):
    """Masks secrets in a record before any handler formats it."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep what there is
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter(FORMAT)
_filter = SecretFilter(Redactor())


def setup_logging(redact: Redactor, verbose: bool = False, level: int = logging.INFO) -> None:
    """Log to stderr at ``level`` (DEBUG with ``verbose``) through the redaction filter."""
    _filter.redact = redact
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_FORMATTER)
    logging.basicConfig(level=logging.DEBUG if verbose else level, handlers=[handler], force=True)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger(SCHEDULER).setLevel(logging.ERROR)
    guard_handlers()
    logging.captureWarnings(True)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook


def use_redactor(redact: Redactor) -> None:
    """Mask with ``redact`` from now on (the config is read: its secrets are known)."""
    _filter.redact = redact
    guard_handlers()


def redact(text: str) -> str:
    """``text`` masked as the log handlers mask it (for lines printed, not logged)."""
    return _filter.redact(text)


def guard_handlers() -> None:
    """The filter on every handler there is: the root's, and those libraries added."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if _filter not in handler.filters:
                handler.addFilter(_filter)
    if logging.lastResort is not None and _filter not in logging.lastResort.filters:
        logging.lastResort.addFilter(_filter)


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(kind, exc, tb))))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    lines = traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(redact(f"Exception in thread {name}:\n" + "".join(lines)))
