"""Feeds: the health table, add (with discovery), remove, enable, OPML import and export.

The table is ``newsbrief feeds list`` a page at a time (``?state=&sort=&dir=&page=``), filtered,
sorted and counted in SQL (``store.feeds.feed_health_page``). Edits go through the chat
commands' path (``bot.feed_admin``, ``newsbrief.config.edit``): comments kept, validated, undone
when invalid. A refused edit shows the page again with the reason and the form as it was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping

from bot import feed_admin
from bot.feed_admin import FeedRefused
from bot.web.app import PREFIX, Console, console_of
from bot.web.text import Table
from newsbrief.cli.feeds import config_opml, opml_entries
from newsbrief.config.edit import ConfigEditError, add_feeds, ensure_writable, plan_additions
from newsbrief.config.settings import ConfigError
from newsbrief.feeds.opml import OpmlError, parse_opml
from newsbrief.store import feeds as feed_store
from newsbrief.store import stats
from newsbrief.store.feed_history import remembered_in

PATH = "/feeds"
NAV = "nav_feeds"
PAGE_SIZE = 100
HOME = f"{PREFIX}{PATH}"
SORTS = feed_store.HEALTH_SORTS
STATES = feed_store.HEALTH_STATES
NUMERIC = frozenset({"entries", "rate", "errors"})

TEXT: Table = {
    "nav_feeds": {"zh-Hans": "订阅源", "en": "Feeds"},
    "feeds_count": {"zh-Hans": "共 {total} 个订阅源", "en": "{total} feeds"},
    "feeds_state": {"zh-Hans": "状态", "en": "State"},
    "feeds_state_all": {"zh-Hans": "全部", "en": "All"},
    "feeds_state_ok": {"zh-Hans": "正常", "en": "ok"},
    "feeds_state_new": {"zh-Hans": "新加", "en": "new"},
    "feeds_state_failing": {"zh-Hans": "出错", "en": "failing"},
    "feeds_state_disabled": {"zh-Hans": "已停用", "en": "disabled"},
    "feeds_state_removed": {"zh-Hans": "已移除", "en": "removed"},
    "feeds_filter": {"zh-Hans": "筛选", "en": "Filter"},
    "feeds_col_id": {"zh-Hans": "订阅源", "en": "Feed"},
    "feeds_col_state": {"zh-Hans": "状态", "en": "State"},
    "feeds_col_entries": {"zh-Hans": "条目", "en": "Entries"},
    "feeds_col_rate": {"zh-Hans": "每周", "en": "Per week"},
    "feeds_col_last_ok": {"zh-Hans": "上次成功", "en": "Last ok"},
    "feeds_col_errors": {"zh-Hans": "连续失败", "en": "Errors"},
    "feeds_col_actions": {"zh-Hans": "操作", "en": "Actions"},
    "feeds_sorted_asc": {"zh-Hans": "（升序）", "en": " (ascending)"},
    "feeds_sorted_desc": {"zh-Hans": "（降序）", "en": " (descending)"},
    "feeds_empty": {"zh-Hans": "没有符合条件的订阅源。", "en": "No feeds here."},
    "feeds_page": {"zh-Hans": "第 {page}/{pages} 页", "en": "Page {page} of {pages}"},
    "feeds_prev": {"zh-Hans": "上一页", "en": "Previous"},
    "feeds_next": {"zh-Hans": "下一页", "en": "Next"},
    "feeds_pages": {"zh-Hans": "分页", "en": "Pages"},
    "feeds_enable": {"zh-Hans": "重新启用", "en": "Enable"},
    "feeds_enable_label": {"zh-Hans": "重新启用 {id}", "en": "Enable {id}"},
    "feeds_remove": {"zh-Hans": "移除…", "en": "Remove…"},
    "feeds_remove_label": {"zh-Hans": "移除 {id}", "en": "Remove {id}"},
    "feeds_add": {"zh-Hans": "添加订阅源", "en": "Add a feed"},
    "feeds_url": {"zh-Hans": "订阅源或网站地址", "en": "Feed or site URL"},
    "feeds_url_hint": {
        "zh-Hans": "可以是 RSS/Atom/JSON 订阅源，也可以是网站页面（会自动查找其订阅源）。",
        "en": "An RSS/Atom/JSON feed, or a site's page (its feed is looked for).",
    },
    "feeds_name": {"zh-Hans": "显示名称（可选）", "en": "Display name (optional)"},
    "feeds_topics": {"zh-Hans": "话题（可选）", "en": "Topics (optional)"},
    "feeds_add_button": {"zh-Hans": "查找并添加", "en": "Find and add"},
    "feeds_import": {"zh-Hans": "导入 OPML", "en": "Import OPML"},
    "feeds_import_file": {"zh-Hans": "OPML 文件（最大 2 MB）", "en": "OPML file (2 MB at most)"},
    "feeds_import_topics": {
        "zh-Hans": "每个导入的订阅源都加上这些话题（可选）",
        "en": "Topics for every feed imported (optional)",
    },
    "feeds_import_button": {"zh-Hans": "导入", "en": "Import"},
    "feeds_export": {"zh-Hans": "导出 OPML", "en": "Export OPML"},
    "feeds_export_hint": {
        "zh-Hans": "下载配置中的全部订阅源（OPML 2.0）。",
        "en": "Download every configured feed (OPML 2.0).",
    },
    "feeds_export_button": {"zh-Hans": "下载 OPML", "en": "Download OPML"},
    "feeds_no_config": {
        "zh-Hans": "此进程不是从配置文件启动的，无法修改订阅源。",
        "en": "This process was not started from a config file, so it cannot edit the feeds.",
    },
    "feeds_remove_title": {"zh-Hans": "移除订阅源 {id}？", "en": "Remove the feed {id}?"},
    "feeds_remove_what": {
        "zh-Hans": "它将从配置文件中删除，不再抓取；已收到的 {entries} 条条目会保留。",
        "en": "It leaves the config file and is no longer polled; its {entries} entries stay.",
    },
    "feeds_remove_confirm": {"zh-Hans": "确认移除", "en": "Remove it"},
    "feeds_cancel": {"zh-Hans": "取消", "en": "Cancel"},
    # Why an edit was not made; the reason itself is the checks' English.
    "feeds_err_url": {"zh-Hans": "请填写地址。", "en": "Give a URL."},
    "feeds_err_topics": {"zh-Hans": "没有这个话题：{names}", "en": "No such topic: {names}"},
    "feeds_err_not_a_feed": {"zh-Hans": "未添加：{reason}", "en": "Not added: {reason}"},
    "feeds_err_duplicate": {
        "zh-Hans": "这个订阅源已在配置中（{reason}）。",
        "en": "That feed is in the config already ({reason}).",
    },
    "feeds_err_no_config": {
        "zh-Hans": "此进程不是从配置文件启动的，无法修改配置。",
        "en": "This process was not started from a config file, so it cannot edit one.",
    },
    "feeds_err_read_only": {
        "zh-Hans": "未做任何修改：{file} 是只读的（文件、目录或磁盘）。",
        "en": "Nothing changed: {file} is read-only (the file, its folder or its disk).",
    },
    "feeds_err_unwritable": {
        "zh-Hans": "未做任何修改：无法写入 {file}：{reason}",
        "en": "Nothing changed: {file} cannot be written: {reason}",
    },
    "feeds_err_layout": {
        "zh-Hans": "未做任何修改：无法安全地自动编辑 {file}：{reason}",
        "en": "Nothing changed: {file} cannot be edited safely: {reason}",
    },
    "feeds_err_invalid": {
        "zh-Hans": "修改后配置将无效，已撤销，配置保持原样：{reason}",
        "en": "The edit would make the config invalid, so it was undone: {reason}",
    },
    "feeds_err_unknown": {
        "zh-Hans": "配置中没有订阅源 {id}。",
        "en": "The config has no feed {id}.",
    },
    "feeds_err_not_in_db": {
        "zh-Hans": "数据库中还没有订阅源 {id}。",
        "en": "The database has no feed {id} yet.",
    },
    "feeds_err_opml": {
        "zh-Hans": "无法读取 OPML：{reason}",
        "en": "Cannot read the OPML: {reason}",
    },
    "feeds_err_no_file": {"zh-Hans": "请选择一个 OPML 文件。", "en": "Choose an OPML file."},
    "done_feed_added": {"zh-Hans": "已添加 {id}：{url}", "en": "Added {id}: {url}"},
    "done_feed_removed": {
        "zh-Hans": "已移除 {id}：不再抓取，已有条目保留。",
        "en": "Removed {id}: no longer polled; its entries are kept.",
    },
    "done_feed_enabled": {
        "zh-Hans": "已重新启用 {id}，下一轮即会抓取。",
        "en": "Enabled {id}: it is polled on the next round.",
    },
    "done_feed_imported": {
        "zh-Hans": "OPML 导入：添加 {added} 个，跳过 {skipped} 个。",
        "en": "OPML import: {added} added, {skipped} skipped.",
    },
}


@dataclass(frozen=True, slots=True)
class View:
    """What the table shows: from the query string, anything unknown ignored."""

    state: str | None = None
    sort: str = "state"
    desc: bool = False
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str]) -> View:
        state = query.get("state")
        sort = query.get("sort", "state")
        try:
            page = max(1, min(int(query.get("page", "1")), 1_000_000))
        except ValueError:
            page = 1
        return cls(
            state if state in STATES else None,
            sort if sort in SORTS else "state",
            query.get("dir") == "desc",
            page,
        )

    def href(self, **change: Any) -> str:
        values: dict[str, Any] = {"state": self.state, "sort": self.sort}
        values["dir"] = "desc" if self.desc else None
        values["page"] = self.page
        values.update(change)
        kept = {k: v for k, v in values.items() if v not in (None, "", 1)}
        return f"{HOME}?{urlencode(kept)}" if kept else HOME


class Refused(Exception):
    """An action not taken: the page again, with this status and reason."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


# -- the page ---------------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    return await _page(request)


async def _page(
    request: web.Request,
    *,
    status: int = 200,
    error: str | None = None,
    form: Mapping[str, Any] | None = None,
) -> web.Response:
    console = console_of(request)
    view = View.of(request.query)
    found = await _health(console, view)
    pages = max(1, -(-found.total // PAGE_SIZE))
    if view.page > pages:  # past the end (feeds were removed): the last page instead
        view = View(view.state, view.sort, view.desc, pages)
        found = await _health(console, view)
    config = console.core.config()
    lang = console.lang(request)
    t = console.t
    headers = []
    for key in SORTS:
        current = view.sort == key
        # A click on the sorted column turns its order; a new column starts with trouble or
        # the largest first where that is what one looks for.
        desc = (not view.desc) if current else key in ("entries", "rate", "errors", "last_ok")
        headers.append(
            {
                "key": key,
                "label": t(request, f"feeds_col_{key}"),
                "href": view.href(sort=key, dir="desc" if desc else None, page=1),
                "aria_sort": ("descending" if view.desc else "ascending") if current else None,
                "num": key in NUMERIC,
            }
        )
    sent = form or {}
    return console.render(
        request,
        "feeds.html",
        status=status,
        view=view,
        feeds=found.feeds,
        total=found.total,
        all_feeds=sum(found.states.values()),
        states=[(s, found.states.get(s, 0)) for s in STATES],
        headers=headers,
        pages=pages,
        configured={f.id for f in config.feeds},
        topics=[(topic.id, topic.display(lang)) for topic in config.topics],
        editable=console.core.config_file is not None,
        error=error,
        sent_url=str(sent.get("url", "")),
        sent_name=str(sent.get("name", "")),
        sent_topics=set(sent.get("topics", ())),
        when=_when,
        home=HOME,
    )


async def _health(console: Console, view: View) -> feed_store.HealthPage:
    return await console.read(
        lambda session: feed_store.feed_health_page(
            session,
            state=view.state,
            sort=view.sort,
            descending=view.desc,
            offset=(view.page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    )


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else ""


# -- actions ----------------------------------------------------------------------------------


def _text(form: Mapping[str, Any], key: str, limit: int = 2000) -> str:
    value = form.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _topics(form: MultiMapping[Any]) -> list[str]:
    """The ticked topic ids, once each."""
    return list(dict.fromkeys(v for v in form.getall("topics", []) if isinstance(v, str)))


def _known_topics(request: web.Request, topics: list[str]) -> None:
    config = console_of(request).core.config()
    unknown = [topic for topic in topics if config.topic(topic) is None]
    if unknown:
        names = ", ".join(topic[:64] for topic in unknown)
        raise Refused(400, console_of(request).t(request, "feeds_err_topics", names=names))


def _edit_refused(request: web.Request, exc: Exception) -> Refused:
    """The reason a config edit was not made (the file untouched), worded for the page."""
    t = console_of(request).t
    if isinstance(exc, FeedRefused):
        status = {"not_a_feed": 422, "duplicate": 409, "no_config": 409}[exc.kind]
        return Refused(status, t(request, f"feeds_err_{exc.kind}", reason=exc.reason))
    if isinstance(exc, ConfigEditError):
        status = 422 if exc.kind == "layout" else 409
        reason = t(request, f"feeds_err_{exc.kind}", file=str(exc.file), reason=exc.detail)
        return Refused(status, reason)
    if isinstance(exc, ConfigError):
        reason = "; ".join(str(p) for p in exc.problems[:5])
        return Refused(422, t(request, "feeds_err_invalid", reason=reason))
    raise exc


async def add(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    url, name = _text(form, "url"), _text(form, "name", 1000) or None
    topics = _topics(form)
    sent = {"url": url, "name": name or "", "topics": topics}
    try:
        if not url:
            raise Refused(400, console.t(request, "feeds_err_url"))
        if "://" not in url:
            url = f"https://{url}"  # "ithome.com" is what people type (as `feeds add` takes it)
        _known_topics(request, topics)
        try:
            added = await feed_admin.add_feed(console.core, url, topics, name=name)
        except (FeedRefused, ConfigEditError, ConfigError) as exc:
            raise _edit_refused(request, exc) from None
    except Refused as exc:
        return await _page(request, status=exc.status, error=exc.message, form=sent)
    console.audit(request, "feed added", id=added.id, url=added.url, topics=topics, name=name)
    console.done(HOME, "feed_added", id=added.id, url=added.url)


async def confirm_remove(request: web.Request) -> web.Response:
    console = console_of(request)
    feed_id = request.query.get("id", "")
    if feed_id not in {f.id for f in console.core.config().feeds}:
        error = console.t(request, "feeds_err_unknown", id=feed_id[:64])
        return await _page(request, status=404, error=error)
    entries = await console.read(stats.entries_of, feed_id)
    return console.render(request, "feeds_remove.html", feed_id=feed_id, entries=entries, home=HOME)


async def remove(request: web.Request) -> web.Response:
    console = console_of(request)
    feed_id = _text(await request.post(), "id", 64)
    try:
        try:
            removed = await feed_admin.remove(console.core, feed_id)
        except (FeedRefused, ConfigEditError, ConfigError) as exc:
            raise _edit_refused(request, exc) from None
        if not removed:
            raise Refused(404, console.t(request, "feeds_err_unknown", id=feed_id))
    except Refused as exc:
        return await _page(request, status=exc.status, error=exc.message)
    console.audit(request, "feed removed", id=feed_id)
    console.done(HOME, "feed_removed", id=feed_id)


async def enable(request: web.Request) -> web.Response:
    """A disabled (or failing) feed polled again at once, its failures forgotten: the
    database's state, as ``newsbrief feeds enable``; the config is not touched."""
    console = console_of(request)
    feed_id = _text(await request.post(), "id", 64)
    if feed_id not in {f.id for f in console.core.config().feeds}:
        error = console.t(request, "feeds_err_unknown", id=feed_id)
        return await _page(request, status=404, error=error)
    if not await console.write(feed_store.enable, feed_id, console.now()):
        error = console.t(request, "feeds_err_not_in_db", id=feed_id)
        return await _page(request, status=404, error=error)
    console.audit(request, "feed enabled", id=feed_id)
    console.done(HOME, "feed_enabled", id=feed_id)


async def import_opml(request: web.Request) -> web.Response:
    """Every feed of an uploaded OPML file not in the config yet, as ``newsbrief feeds import``
    does it (folders and categories named after a topic select it; exported ids kept)."""
    console = console_of(request)
    core = console.core
    form = await request.post()
    upload = form.get("file")
    try:
        if core.config_file is None:
            raise FeedRefused("no_config", "no config file")
        if not isinstance(upload, web.FileField) or not upload.filename:
            raise Refused(400, console.t(request, "feeds_err_no_file"))
        topics = _topics(form)
        _known_topics(request, topics)
        data = upload.file.read()
        try:
            feeds = parse_opml(data, source=upload.filename[:100])
        except OpmlError as exc:
            raise Refused(422, console.t(request, "feeds_err_opml", reason=str(exc))) from None
        config = core.config()
        entries, _, report = opml_entries(config, feeds, topics)
        existing = [(f.id, f.url) for f in config.feeds]
        retired = await asyncio.to_thread(remembered_in, core.db)
        plan = plan_additions(existing, entries, on_taken_id="derive", retired=retired)
        accepted = [p for p in plan if p.duplicate is None]
        if accepted:
            ensure_writable(core.config_file)
            await asyncio.to_thread(add_feeds, core.config_file, [p.entry for p in accepted])
            await feed_admin.applied(core)
    except (FeedRefused, ConfigEditError, ConfigError) as exc:
        error = _edit_refused(request, exc)
        return await _page(request, status=error.status, error=error.message)
    except Refused as exc:
        return await _page(request, status=exc.status, error=exc.message)
    ids = [p.id for p in accepted]
    console.audit(request, "feeds imported", file=upload.filename, ids=ids)
    skipped = len(report) - len(accepted)
    console.done(HOME, "feed_imported", added=str(len(accepted)), skipped=str(skipped))


async def export_opml(request: web.Request) -> web.Response:
    """The configured feeds as an OPML download (a POST like every action: no link to it)."""
    console = console_of(request)
    data = config_opml(console.core.config())
    return web.Response(
        body=data,
        content_type="text/x-opml",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="newsbrief-feeds.opml"'},
    )


async def to_page(request: web.Request) -> web.Response:
    """A GET of an action's address (the language link, or a reload, of a page re-rendered
    there after a refusal): the page itself."""
    lang = request.query.get("lang")
    raise web.HTTPSeeOther(f"{HOME}?{urlencode({'lang': lang})}" if lang else HOME)


def routes() -> list[web.RouteDef]:
    return [
        web.get(PATH, page),
        *(web.get(f"{PATH}/{action}", to_page) for action in ("add", "enable", "import", "export")),
        web.post(f"{PATH}/add", add),
        web.get(f"{PATH}/remove", confirm_remove),
        web.post(f"{PATH}/remove", remove),
        web.post(f"{PATH}/enable", enable),
        web.post(f"{PATH}/import", import_opml),
        web.post(f"{PATH}/export", export_opml),
    ]
