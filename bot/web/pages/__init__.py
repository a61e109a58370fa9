"""The console's pages, in menu order. Each module has ``PATH`` (inside ``/admin``), ``NAV``
(its menu word, or None), ``TEXT`` (its words) and ``routes()``."""

from __future__ import annotations

from types import ModuleType

from bot.web.pages import feeds, outbox, overview, robots, subscribers, topics

PAGES: tuple[ModuleType, ...] = (overview, feeds, topics, subscribers, outbox, robots)
