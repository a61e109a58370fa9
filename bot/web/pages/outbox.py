"""Outbox: pending, failed and paused messages with their last error; retry a failed one.

``?state=`` filters (all not yet sent by default), ``?page=`` pages through PAGE_SIZE at a time,
the latest due first; the counts per state and the page are each one indexed query
(``newsbrief.store.outbox.held_counts``, ``held_page``). Retry puts a failed message back to
pending, due now, with its attempts counted afresh.
"""

from __future__ import annotations

from aiohttp import web

from bot.web.app import PREFIX, console_of
from bot.web.pages.overview import age, when, zone_of
from bot.web.text import Table
from newsbrief.store import outbox

PATH = "/outbox"
ERROR: web.RequestKey[str] = web.RequestKey("outbox_error", str)
"""Why a retry was refused, for the page shown in answer."""
NAV = "nav_outbox"
PAGE_SIZE = 50
STATES = ("pending", "sending", "failed", "paused")
TEXT: Table = {
    "nav_outbox": {"zh-Hans": "发件箱", "en": "Outbox"},
    "outbox_state": {"zh-Hans": "状态", "en": "State"},
    "outbox_state_all": {"zh-Hans": "全部未发送", "en": "all not sent"},
    "outbox_state_pending": {"zh-Hans": "待发送", "en": "pending"},
    "outbox_state_sending": {"zh-Hans": "发送中", "en": "sending"},
    "outbox_state_failed": {"zh-Hans": "已失败", "en": "failed"},
    "outbox_state_paused": {"zh-Hans": "已暂停", "en": "paused"},
    "outbox_show": {"zh-Hans": "显示", "en": "Show"},
    "outbox_empty": {"zh-Hans": "没有这样的消息。", "en": "No such messages."},
    "outbox_col_id": {"zh-Hans": "编号", "en": "id"},
    "outbox_col_chat": {"zh-Hans": "会话", "en": "chat"},
    "outbox_col_kind": {"zh-Hans": "类型", "en": "kind"},
    "outbox_col_due": {"zh-Hans": "应发时间", "en": "due"},
    "outbox_col_attempts": {"zh-Hans": "尝试次数", "en": "attempts"},
    "outbox_col_error": {"zh-Hans": "最近错误", "en": "last error"},
    "outbox_col_action": {"zh-Hans": "操作", "en": "action"},
    "outbox_kind_reply": {"zh-Hans": "回复", "en": "reply"},
    "outbox_kind_digest": {"zh-Hans": "简报/通知", "en": "digest or notice"},
    "outbox_digest_part": {
        "zh-Hans": "（简报片段，发送时生成）",
        "en": "(digest part, rendered when sent)",
    },
    "outbox_retry": {"zh-Hans": "重试", "en": "Retry"},
    "outbox_retry_label": {"zh-Hans": "重试消息 {id}", "en": "Retry message {id}"},
    "outbox_times": {"zh-Hans": "时间为 {zone} 时间。", "en": "Times in {zone}."},
    "outbox_page": {"zh-Hans": "第 {page} / {pages} 页", "en": "page {page} of {pages}"},
    "outbox_prev": {"zh-Hans": "上一页", "en": "Previous"},
    "outbox_next": {"zh-Hans": "下一页", "en": "Next"},
    "outbox_not_failed": {
        "zh-Hans": "消息 {id} 已不是失败状态，未做改动。",
        "en": "Message {id} is not failed (any more): nothing changed.",
    },
    "done_outbox_retried": {
        "zh-Hans": "消息 {id} 已重新排队，马上发送。",
        "en": "Message {id} is queued again, to be sent now.",
    },
}


def _page_number(text: str | None) -> int:
    try:
        return max(1, min(int(text or 1), 1_000_000))
    except ValueError:
        return 1


async def page(request: web.Request) -> web.Response:
    console = console_of(request)
    asked = request.query.get("state", "")
    state = asked if asked in STATES else ""
    statuses = (state,) if state else STATES
    number = _page_number(request.query.get("page"))
    counts = await console.read(outbox.held_counts)
    total = sum(counts.get(s, 0) for s in statuses)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    rows = await console.read(outbox.held_page, statuses, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    zone = zone_of(request)
    lang, now = console.lang(request), console.now()

    def href(page_number: int) -> str:
        query = f"?page={page_number}" + (f"&state={state}" if state else "")
        return f"{PREFIX}{PATH}{query}"

    return console.render(
        request,
        "outbox.html",
        rows=rows,
        counts=counts,
        all_count=sum(counts.get(s, 0) for s in STATES),
        states=STATES,
        state=state,
        page=number,
        pages=pages,
        prev_href=href(number - 1) if number > 1 else None,
        next_href=href(number + 1) if number < pages else None,
        zone=zone.key,
        when=lambda moment: when(moment, zone),
        age=lambda moment: age(console.words, lang, now, moment),
        error=request.get(ERROR),
    )


async def retry(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    try:
        delivery_id = int(str(form.get("id", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="no message id\n") from None
    platform = await console.write(outbox.retry_failed, delivery_id, console.now())
    if platform is None:
        request[ERROR] = console.t(request, "outbox_not_failed", id=delivery_id)
        return await page(request)
    console.audit(request, "outbox retry", id=delivery_id, platform=platform, to="pending")
    console.done(f"{PREFIX}{PATH}", "outbox_retried", id=str(delivery_id))


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page), web.post(f"{PATH}/retry", retry)]
