"""``newsbrief`` with every webhook update held for ``SLOW_UPDATES_SECONDS`` after it is stored
and acknowledged, before it is handled: a test kills the process in that window. A test hook,
so it lives here and not in the shipped code.

    python -m tests.slow_updates ARG...    (SLOW_UPDATES_SECONDS=60 in the environment)
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot.telegram import webhook
from bot.telegram.webhook import WebhookUpdates
from jobs import main as entry
from newsbrief.store.updates import StoredUpdate

DELAY_ENV = "SLOW_UPDATES_SECONDS"
_handle = WebhookUpdates._handle


async def _held(self: WebhookUpdates, stored: StoredUpdate) -> None:
    await asyncio.sleep(float(os.environ[DELAY_ENV]))
    await _handle(self, stored)


if __name__ == "__main__":
    webhook.WebhookUpdates._handle = _held  # type: ignore[method-assign]
    sys.exit(entry.main())
