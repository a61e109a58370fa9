"""Hand edits of ``config/`` picked up while running.

Every ``WATCH_SECONDS`` the config file and its taxonomy file (``topics_file``) are hashed; a
change seen twice in a row (so an editor's half-written file is not read) is loaded with
``load_config``. A valid edit takes effect at once. An invalid one is refused: the last good
config stays in force and the admins get its problems, ``file:line: reason``, through the
outbox. Hashing two small files a second costs nothing next to a new dependency on inotify.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.i18n import t
from bot.telegram.limits import MAX_TEXT_UTF16
from bot.telegram.render import esc, visible_len
from jobs.context import JobContext
from newsbrief.config.secrets import redactors
from newsbrief.config.settings import Config, ConfigError, Problem, load_config
from newsbrief.records import Message
from newsbrief.store import outbox

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0
Fingerprint = tuple[tuple[str, str], ...]


class ConfigWatch:
    def __init__(self, ctx: JobContext, config_file: Path, apply: Callable[[Config], None]) -> None:
        self.ctx = ctx
        self.config_file = config_file
        self._apply = apply
        """Puts a loaded config in force (the runtime's, which also syncs the feeds table)."""
        self._seen = self.fingerprint()
        """The files as last looked at by a reload, valid or not."""
        self._good = self._seen
        """The files the config in force was loaded from."""
        self._pending: Fingerprint | None = None
        self._lock = asyncio.Lock()
        """One reload at a time (a tick and an admin's edit): the later load is the one in force."""

    def files(self) -> list[Path]:
        """The config file and the taxonomy file the config in force names."""
        files = [self.config_file]
        if self.ctx.config.topics_file:
            files.append((self.config_file.parent / self.ctx.config.topics_file).resolve())
        return files

    def fingerprint(self, known: Fingerprint = ()) -> Fingerprint:
        """A hash of each watched file; those in ``known`` keep the hash given there."""
        hashes = dict(known)
        return tuple((str(file), hashes.get(str(file)) or _digest(file)) for file in self.files())

    async def tick(self) -> bool | None:
        """Reload if the files changed and have stayed so since the last look: True when the
        edit took effect, False when it was refused, None when there was nothing to do."""
        now = await asyncio.to_thread(self.fingerprint)
        if now == self._seen:
            self._pending = None
            return None
        if now != self._pending:
            self._pending = now  # still being written, perhaps: look again next tick
            return None
        if now[0][1] in ("missing", "empty"):
            # Without its file (or with an empty one) the config would be all defaults: never
            # that. An editor that saves by moving the old file away or by truncating it first
            # puts the new text there in a moment.
            log.warning("%s is %s; keeping the last good config", self.config_file, now[0][1])
            return None
        return await self.reload(now)

    async def reload(self, seen: Fingerprint | None = None) -> bool:
        """Load the config files now; put them in force, or refuse them and tell the admins."""
        async with self._lock:
            return await self._reload(seen)

    async def _reload(self, seen: Fingerprint | None) -> bool:
        if seen is None:
            seen = await asyncio.to_thread(self.fingerprint)
        self._seen, self._pending = seen, None
        try:
            config = await asyncio.to_thread(load_config, self.config_file)
        except ConfigError as exc:
            log.error("config edit refused, keeping the last good config:\n%s", exc)
            try:
                await asyncio.to_thread(self._notify, exc.problems, seen)
            except Exception:
                self._seen = ()  # look again next time, and tell them then
                raise
            return False
        await asyncio.to_thread(self._apply, config)
        # The config may name another taxonomy file now: watch it too. The files hashed before
        # loading keep those hashes: one edited meanwhile is seen as changed on the next look.
        self._seen = self._good = await asyncio.to_thread(self.fingerprint, seen)
        return True

    def _notify(self, problems: Sequence[Problem], seen: Fingerprint) -> None:
        config = self.ctx.config  # the last good one: its admins are the ones to tell
        if not config.admins:
            return
        message = refused_notice(config, problems)
        # One notice per broken state, however many processes watch and however often.
        state = hashlib.sha256(repr((self._good, seen)).encode()).hexdigest()[:16]
        now = self.ctx.clock()
        with self.ctx.db.session() as session:
            for admin in config.admins:
                outbox.enqueue_to(
                    session,
                    "telegram",
                    str(admin),
                    f"admin:config-refused:{state}:{admin}",
                    [message],
                    now,
                )


def _digest(file: Path) -> str:
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return "missing"
    return hashlib.sha256(data).hexdigest() if data.strip() else "empty"


def refused_notice(config: Config, problems: Sequence[Problem]) -> Message:
    """The admins' message about a refused edit: each problem on a line, as many as fit."""
    lang = config.subscriber_defaults.language
    mask = redactors(config)[0]  # a refused value may be a secret, or a URL holding one
    lines = [t("config_refused", lang)]
    for n, problem in enumerate(problems):
        line = f"<code>{esc(mask(str(problem))[:500])}</code>"
        if visible_len("\n".join([*lines, line])) > MAX_TEXT_UTF16 - 200:
            lines.append(t("config_refused_more", lang, count=len(problems) - n))
            break
        lines.append(line)
    return Message("\n".join(lines))
