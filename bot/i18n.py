"""Reply catalogues. Every user-facing string lives here, keyed, in each supported language."""

from __future__ import annotations

from typing import Any

DEFAULT_LANG = "zh-Hans"

CATALOGUE: dict[str, dict[str, str]] = {
    "welcome": {
        "zh-Hans": "👋 欢迎使用 newsbrief！我会把你订阅的话题整理成简报发给你。\n\n{help}",
        "en": "👋 Welcome to newsbrief! I collect the news on the topics you follow into digests.\n\n{help}",
    },
    "welcome_back": {
        "zh-Hans": "👋 欢迎回来！暂停期间积压的消息会继续发送。",
        "en": "👋 Welcome back! Messages held while you were away will be sent now.",
    },
    "help": {
        "zh-Hans": (
            "<b>命令</b>\n"
            "/topics — 查看全部话题\n"
            "/subscribe &lt;话题…&gt; — 订阅，如 <code>/subscribe ai crypto</code>\n"
            "/unsubscribe &lt;话题…&gt; — 退订\n"
            "/list — 我的订阅\n"
            "/digest — 立即获取最新简报\n"
            "/help — 帮助"
        ),
        "en": (
            "<b>Commands</b>\n"
            "/topics — all topics\n"
            "/subscribe &lt;topic…&gt; — follow topics, e.g. <code>/subscribe ai crypto</code>\n"
            "/unsubscribe &lt;topic…&gt; — stop following topics\n"
            "/list — what you follow\n"
            "/digest — what is new, now\n"
            "/help — this help"
        ),
    },
    "topics_header": {
        "zh-Hans": "<b>可订阅的话题</b>（✓ 为已订阅）",
        "en": "<b>Topics</b> (✓ = following)",
    },
    "topics_empty": {
        "zh-Hans": "暂无话题，请联系管理员配置。",
        "en": "No topics are configured yet.",
    },
    "topics_footer": {
        "zh-Hans": "用 <code>/subscribe 话题</code> 订阅。",
        "en": "Follow one with <code>/subscribe topic</code>.",
    },
    "subscribe_usage": {
        "zh-Hans": "请写上要订阅的话题，例如 <code>/subscribe ai</code>。发送 /topics 查看全部话题。",
        "en": "Name the topics to follow, e.g. <code>/subscribe ai</code>. Send /topics to see them all.",
    },
    "unsubscribe_usage": {
        "zh-Hans": "请写上要退订的话题，例如 <code>/unsubscribe ai</code>。",
        "en": "Name the topics to stop following, e.g. <code>/unsubscribe ai</code>.",
    },
    "unknown_topics": {
        "zh-Hans": "没有这些话题：{names}。发送 /topics 查看全部话题。",
        "en": "No such topic: {names}. Send /topics to see them all.",
    },
    "subscribed": {"zh-Hans": "✅ 已订阅：{names}", "en": "✅ Following: {names}"},
    "already_subscribed": {"zh-Hans": "你已经订阅了：{names}", "en": "Already following: {names}"},
    "unsubscribed": {"zh-Hans": "已退订：{names}", "en": "Stopped following: {names}"},
    "not_subscribed": {"zh-Hans": "你没有订阅：{names}", "en": "You were not following: {names}"},
    "list": {
        "zh-Hans": "<b>我的订阅</b>：{names}\n<b>推送时间</b>：{schedule}",
        "en": "<b>Following</b>: {names}\n<b>Schedule</b>: {schedule}",
    },
    "list_empty": {
        "zh-Hans": "你还没有订阅任何话题。发送 /topics 看看有哪些。",
        "en": "You follow no topics yet. Send /topics to see what there is.",
    },
    "digest_nothing": {
        "zh-Hans": "暂时没有新内容，有新消息时会推送给你。",
        "en": "Nothing new right now; you will get it as soon as there is.",
    },
    "digest_no_topics": {
        "zh-Hans": "先订阅话题才能收到简报，例如 <code>/subscribe ai</code>。",
        "en": "Follow a topic first, e.g. <code>/subscribe ai</code>.",
    },
    "group_admins_only": {
        "zh-Hans": "只有群管理员可以修改本群的订阅。",
        "en": "Only the group's admins can change its subscriptions.",
    },
    "unknown_command": {
        "zh-Hans": "不认识这个命令。发送 /help 查看可用命令。",
        "en": "I don't know that command. Send /help to see what I can do.",
    },
    "error": {
        "zh-Hans": "抱歉，处理时出错了，请稍后再试。",
        "en": "Sorry, something went wrong. Please try again later.",
    },
    "digest_title": {
        "zh-Hans": "📰 <b>新闻简报</b> · {count} 条",
        "en": "📰 <b>News digest</b> · {count} stories",
    },
    "continued": {"zh-Hans": "（续）", "en": "(continued)"},
    "also_reported": {
        "zh-Hans": "另有 {count} 个来源报道",
        "en": "also reported by {count} sources",
    },
    "more_items": {"zh-Hans": "……还有 {count} 条未列出", "en": "…and {count} more not shown"},
    "list_sep": {"zh-Hans": "、", "en": ", "},
    "admins_only": {
        "zh-Hans": "这是管理员命令，你没有权限。",
        "en": "That is an admin command; you are not an admin.",
    },
    "feeds_header": {"zh-Hans": "<b>订阅源</b>（{count} 个）", "en": "<b>Feeds</b> ({count})"},
    "feeds_line": {
        "zh-Hans": "{icon} <code>{feed}</code> {status} · {entries} 条 · 每周 {rate} · 上次成功 {last}",
        "en": "{icon} <code>{feed}</code> {status} · {entries} entries · {rate}/week · last ok {last}",
    },
    "feeds_error": {
        "zh-Hans": "    └ {kind}（连续 {count} 次）：{error}",
        "en": "    └ {kind} ({count}× in a row): {error}",
    },
    "feeds_more": {
        "zh-Hans": "……还有 {count} 个，完整列表：<code>newsbrief feeds list</code>",
        "en": "…and {count} more: <code>newsbrief feeds list</code> has them all",
    },
    "never": {"zh-Hans": "从未", "en": "never"},
    "addfeed_usage": {
        "zh-Hans": "用法：<code>/addfeed 网址 [话题…]</code>，网址可以是订阅源，也可以是网站首页。",
        "en": "Usage: <code>/addfeed URL [topic…]</code>; the URL may be a feed or a site's page.",
    },
    "addfeed_searching": {
        "zh-Hans": "正在查找 {url} 的订阅源……",
        "en": "Looking for the feed of {url}…",
    },
    "addfeed_done": {
        "zh-Hans": "✅ 已添加 <code>{feed}</code>：{title}\n{url}",
        "en": "✅ Added <code>{feed}</code>: {title}\n{url}",
    },
    "addfeed_duplicate": {
        "zh-Hans": "这个订阅源已经在配置里了（{reason}）。",
        "en": "That feed is in the config already ({reason}).",
    },
    "addfeed_failed": {"zh-Hans": "添加失败：{reason}", "en": "Could not add it: {reason}"},
    "addfeed_no_config": {
        "zh-Hans": "这个进程不是从配置文件启动的，无法修改配置。",
        "en": "This process was not started from a config file, so it cannot edit one.",
    },
    "feed_disabled": {
        "zh-Hans": "⚠️ 订阅源 <b>{feed}</b> 已停用：{reason}\n地址：{url}\n修好后用 <code>newsbrief feeds enable {feed}</code> 重新启用。",
        "en": "⚠️ Feed <b>{feed}</b> was disabled: {reason}\nURL: {url}\nOnce fixed, re-enable it with <code>newsbrief feeds enable {feed}</code>.",
    },
}

COMMAND_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "start": {"zh-Hans": "开始使用", "en": "Start"},
    "help": {"zh-Hans": "帮助", "en": "Help"},
    "topics": {"zh-Hans": "全部话题", "en": "All topics"},
    "subscribe": {"zh-Hans": "订阅话题", "en": "Follow topics"},
    "unsubscribe": {"zh-Hans": "退订话题", "en": "Stop following topics"},
    "list": {"zh-Hans": "我的订阅", "en": "What I follow"},
    "digest": {"zh-Hans": "立即获取简报", "en": "What is new, now"},
}
"""The menu every user sees; admin commands work without being advertised."""


def normalize_lang(code: str | None, default: str = DEFAULT_LANG) -> str:
    """Map a client's language code (``en-GB``, ``zh-hans``…) to a catalogue language."""
    if not code:
        return default
    code = code.lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("zh"):
        return "zh-Hans"
    return default


def t(key: str, lang: str, **values: Any) -> str:
    entry = CATALOGUE[key]
    template = entry.get(lang) or entry[DEFAULT_LANG]
    return template.format(**values) if values else template
