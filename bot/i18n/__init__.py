"""Reply catalogues. Every user-facing string lives here, keyed, in each supported language."""

from __future__ import annotations

import functools
from typing import Any

from bot.i18n.admin import ADMIN_CATALOGUE
from bot.i18n.wechat import WECHAT_CATALOGUE
from newsbrief.records import LANGUAGES
from newsbrief.text.chinese import to_traditional

DEFAULT_LANG = "zh-Hans"
LANGS = LANGUAGES
LANG_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}

CATALOGUE: dict[str, dict[str, str]] = {
    "welcome": {
        "zh-Hans": "👋 欢迎使用 newsbrief！我会把你订阅的话题整理成简报发给你。\n\n{help}",
        "zh-Hant": "👋 歡迎使用 newsbrief！我會把你訂閱的話題整理成簡報傳給你。\n\n{help}",
        "en": "👋 Welcome to newsbrief! I collect the news on the topics you follow into digests.\n\n{help}",
    },
    # -- the first minute: /start's steps, hints for free text, when digests come ----------
    "start_steps": {
        "zh-Hans": "① 语言：点下方按钮切换（/lang）\n② {topics}\n③ {next}\n\n发送 /help 查看全部命令。",
        "zh-Hant": "① 語言：點下方按鈕切換（/lang）\n② {topics}\n③ {next}\n\n傳送 /help 查看全部命令。",
        "en": "① Language: tap a button below (/lang)\n② {topics}\n③ {next}\n\nSend /help for every command.",
    },
    "start_topics": {
        "zh-Hans": "话题：点下方按钮订阅，订阅最多的在前（{names}），或发送 <code>/subscribe {example}</code>（也可写 <code>订阅 {example}</code>）；/topics 查看全部",
        "zh-Hant": "話題：點下方按鈕訂閱，訂閱最多的在前（{names}），或傳送 <code>/subscribe {example}</code>（也可寫 <code>訂閱 {example}</code>）；/topics 查看全部",
        "en": "Topics: tap one below to follow it, most followed first ({names}), or send <code>/subscribe {example}</code>; /topics lists them all",
    },
    "start_next": {
        "zh-Hans": "然后：订阅后几分钟内收到第一份简报（有新闻的话），之后的推送时间：{schedule}（/schedule 可改）",
        "zh-Hant": "然後：訂閱後幾分鐘內收到第一份簡報（有新聞的話），之後的推送時間：{schedule}（/schedule 可改）",
        "en": "Then: your first digest comes within a few minutes of following a topic (if there is news), then {schedule} (/schedule changes it)",
    },
    "start_next_off": {
        "zh-Hans": "然后：定时推送已关闭，发送 /digest 随时获取简报（/schedule 可改）",
        "zh-Hant": "然後：定時推送已關閉，傳送 /digest 隨時取得簡報（/schedule 可改）",
        "en": "Then: scheduled digests are off; send /digest whenever you like (/schedule changes it)",
    },
    "start_all_topics": {"zh-Hans": "📚 全部话题", "zh-Hant": "📚 全部話題", "en": "📚 All topics"},
    "start_more": {
        "zh-Hans": "点下方按钮继续订阅。",
        "zh-Hant": "點下方按鈕繼續訂閱。",
        "en": "Tap below to follow more.",
    },
    "rhythm_instant": {"zh-Hans": "有新闻就推送", "zh-Hant": "有新聞就推送", "en": "as news comes"},
    "next_first": {
        "zh-Hans": "📬 第一份简报：{when}；之后：{schedule}",
        "zh-Hant": "📬 第一份簡報：{when}；之後：{schedule}",
        "en": "📬 First digest: {when}; then {schedule}",
    },
    "next_digest": {
        "zh-Hans": "📬 下一份简报：{when}（{schedule}）",
        "zh-Hant": "📬 下一份簡報：{when}（{schedule}）",
        "en": "📬 Next digest: {when} ({schedule})",
    },
    "next_soon": {
        "zh-Hans": "几分钟内（有新闻的话）",
        "zh-Hant": "幾分鐘內（有新聞的話）",
        "en": "within a few minutes (if there is news)",
    },
    "next_instant": {
        "zh-Hans": "📬 有新闻就推送，通常几分钟内送达",
        "zh-Hant": "📬 有新聞就推送，通常幾分鐘內送達",
        "en": "📬 News comes as it happens, within a few minutes",
    },
    "next_off": {
        "zh-Hans": "📬 定时推送已关闭，发送 /digest 随时获取",
        "zh-Hant": "📬 定時推送已關閉，傳送 /digest 隨時取得",
        "en": "📬 No scheduled digests; send /digest whenever you like",
    },
    "next_paused": {
        "zh-Hans": "⏸ 推送已暂停（/resume 恢复；/digest 仍可随时获取）",
        "zh-Hant": "⏸ 推送已暫停（/resume 恢復；/digest 仍可隨時取得）",
        "en": "⏸ Digests are paused (/resume to go on; /digest still works)",
    },
    "next_no_topics": {
        "zh-Hans": "📬 订阅话题后开始推送（/topics）",
        "zh-Hant": "📬 訂閱話題後開始推送（/topics）",
        "en": "📬 Digests start once you follow a topic (/topics)",
    },
    "time_today": {"zh-Hans": "今天", "zh-Hant": "今天", "en": "today"},
    "time_tomorrow": {"zh-Hans": "明天", "zh-Hant": "明天", "en": "tomorrow"},
    "time_yesterday": {"zh-Hans": "昨天", "zh-Hant": "昨天", "en": "yesterday"},
    "time_date": {
        "zh-Hans": "{month}月{day}日",
        "zh-Hant": "{month}月{day}日",
        "en": "{mon} {day}",
    },
    "time_in_zone": {
        "zh-Hans": "{time}（{zone}）",
        "zh-Hant": "{time}（{zone}）",
        "en": "{time} ({zone})",
    },
    # Zones people call by a name; the others are shown by their IANA name.
    "zone_name_Asia/Shanghai": {"zh-Hans": "北京时间", "zh-Hant": "北京時間", "en": "Beijing time"},
    "zone_name_Asia/Hong_Kong": {
        "zh-Hans": "香港时间",
        "zh-Hant": "香港時間",
        "en": "Hong Kong time",
    },
    "zone_name_Asia/Taipei": {"zh-Hans": "台北时间", "zh-Hant": "台北時間", "en": "Taipei time"},
    "zone_name_Asia/Tokyo": {"zh-Hans": "东京时间", "zh-Hant": "東京時間", "en": "Tokyo time"},
    "zone_name_Asia/Singapore": {
        "zh-Hans": "新加坡时间",
        "zh-Hant": "新加坡時間",
        "en": "Singapore time",
    },
    "zone_name_UTC": {"zh-Hans": "UTC", "zh-Hant": "UTC", "en": "UTC"},
    "hint_new": {
        "zh-Hans": "👋 你好！我只听得懂命令。发送 /start 开始订阅新闻，或 /help 查看全部命令。",
        "zh-Hant": "👋 你好！我只聽得懂命令。傳送 /start 開始訂閱新聞，或 /help 查看全部命令。",
        "en": "👋 Hi! I only understand commands. Send /start to begin, or /help for every command.",
    },
    "hint": {
        "zh-Hans": "👋 我只听得懂命令：/topics 选话题，/digest 看最新简报，/help 查看全部命令。",
        "zh-Hant": "👋 我只聽得懂命令：/topics 選話題，/digest 看最新簡報，/help 查看全部命令。",
        "en": "👋 I only understand commands: /topics to pick topics, /digest for the news now, /help for every command.",
    },
    "hint_topic": {
        "zh-Hans": "想订阅 {names}？点下方按钮，或发送 <code>订阅 {ids}</code>。发送 /help 查看全部命令。",
        "zh-Hant": "想訂閱 {names}？點下方按鈕，或傳送 <code>訂閱 {ids}</code>。傳送 /help 查看全部命令。",
        "en": "Follow {names}? Tap below, or send <code>/subscribe {ids}</code>. /help lists every command.",
    },
    "hint_follow": {"zh-Hans": "订阅 {name}", "zh-Hant": "訂閱 {name}", "en": "Follow {name}"},
    "hint_command": {
        "zh-Hans": "不认识这句话。你是不是想用 {command}？发送 /help 查看全部命令。",
        "zh-Hant": "不認識這句話。你是不是想用 {command}？傳送 /help 查看全部命令。",
        "en": "I don't understand that. Did you mean {command}? /help lists every command.",
    },
    "id_user": {
        "zh-Hans": "🆔 你的用户 ID：<code>{user}</code>",
        "zh-Hant": "🆔 你的使用者 ID：<code>{user}</code>",
        "en": "🆔 Your user id: <code>{user}</code>",
    },
    "id_chat": {
        "zh-Hans": "💬 本聊天 ID：<code>{chat}</code>",
        "zh-Hant": "💬 本聊天 ID：<code>{chat}</code>",
        "en": "💬 This chat's id: <code>{chat}</code>",
    },
    "id_thread": {
        "zh-Hans": "🧵 话题帖 ID：<code>{thread}</code>",
        "zh-Hant": "🧵 話題串 ID：<code>{thread}</code>",
        "en": "🧵 Forum topic id: <code>{thread}</code>",
    },
    "id_admins": {
        "zh-Hans": "要让这个账号成为管理员，把 <code>{user}</code> 加到配置文件的 <code>admins:</code> 列表里。",
        "zh-Hant": "要讓這個帳號成為管理員，把 <code>{user}</code> 加到設定檔的 <code>admins:</code> 清單裡。",
        "en": "To make this account an admin, add <code>{user}</code> to <code>admins:</code> in the config.",
    },
    "unsubscribed_all": {
        "zh-Hans": "已退订全部话题：{names}。想重新订阅时发送 /topics。",
        "zh-Hant": "已退訂全部話題：{names}。想重新訂閱時傳送 /topics。",
        "en": "Stopped following every topic: {names}. Send /topics to follow some again.",
    },
    "welcome_back": {
        "zh-Hans": "👋 欢迎回来！暂停期间积压的消息会继续发送。",
        "en": "👋 Welcome back! Messages held while you were away will be sent now.",
    },
    "help": {
        "zh-Hans": (
            "<b>命令</b>（也可以不带 /，直接发中文命令，如 <code>订阅 AI</code>）\n"
            "/topics 话题 — 全部话题，点按钮订阅或退订\n"
            "/subscribe &lt;话题…&gt; 订阅 — 如 <code>/subscribe ai crypto</code>，"
            "可加关键词 <code>+词 -词</code>\n"
            "/unsubscribe &lt;话题…&gt; 退订 — <code>退订 全部</code> 退订全部话题\n"
            "/list 列表 — 我的订阅\n"
            "/digest 摘要 — 立即获取最新简报\n"
            "/schedule 时间 — 推送时间：instant、hourly、every 3h、daily 08:30,20:00、off\n"
            "/timezone 时区 — 如 <code>/timezone Asia/Shanghai</code>\n"
            "/quiet 免打扰 — 如 <code>/quiet 23:00-07:00</code> 或 off\n"
            "/lang 语言 — zh、zh-hant、en\n"
            "/filter 过滤 — <code>+词 -词</code>、list、clear\n"
            "/search 搜索 — 搜索近期新闻\n"
            "/why 为什么 &lt;网址&gt; — 这篇文章为什么（没）发给我\n"
            "/settings 设置 — 全部设置\n"
            "/pause 暂停 · /resume 恢复 · /stop 停止（删除我的全部数据）\n"
            "/bind 绑定 @频道 — 在私聊中管理你是管理员的频道\n"
            "/id — 我的用户 ID 和本聊天 ID\n"
            "/help 帮助"
        ),
        "zh-Hant": (
            "<b>命令</b>（也可以不帶 /，直接傳中文命令，如 <code>訂閱 AI</code>）\n"
            "/topics 話題 — 全部話題，點按鈕訂閱或退訂\n"
            "/subscribe &lt;話題…&gt; 訂閱 — 如 <code>/subscribe ai crypto</code>，"
            "可加關鍵字 <code>+詞 -詞</code>\n"
            "/unsubscribe &lt;話題…&gt; 退訂 — <code>退訂 全部</code> 退訂全部話題\n"
            "/list 列表 — 我的訂閱\n"
            "/digest 摘要 — 立即取得最新簡報\n"
            "/schedule 時間 — 推送時間：instant、hourly、every 3h、daily 08:30,20:00、off\n"
            "/timezone 時區 — 如 <code>/timezone Asia/Taipei</code>\n"
            "/quiet 免打擾 — 如 <code>/quiet 23:00-07:00</code> 或 off\n"
            "/lang 語言 — zh、zh-hant、en\n"
            "/filter 過濾 — <code>+詞 -詞</code>、list、clear\n"
            "/search 搜尋 — 搜尋近期新聞\n"
            "/why 為什麼 &lt;網址&gt; — 這篇文章為什麼（沒）傳給我\n"
            "/settings 設定 — 全部設定\n"
            "/pause 暫停 · /resume 恢復 · /stop 停止（刪除我的全部資料）\n"
            "/bind 綁定 @頻道 — 在私訊中管理你是管理員的頻道\n"
            "/id — 我的使用者 ID 和本聊天 ID\n"
            "/help 幫助"
        ),
        "en": (
            "<b>Commands</b>\n"
            "/topics — all topics; tap to follow or stop following\n"
            "/subscribe &lt;topic…&gt; — follow topics, e.g. <code>/subscribe ai crypto</code>; "
            "add <code>+word -word</code> to narrow them\n"
            "/unsubscribe &lt;topic…&gt; — stop following topics; <code>/unsubscribe all</code> for every one\n"
            "/list — what you follow\n"
            "/digest — what is new, now\n"
            "/schedule — when digests come: instant, hourly, every 3h, daily 08:30,20:00, off\n"
            "/timezone — e.g. <code>/timezone Europe/London</code>\n"
            "/quiet — e.g. <code>/quiet 23:00-07:00</code>, or off\n"
            "/lang — zh, zh-hant, en\n"
            "/filter — <code>+word -word</code>, list, clear\n"
            "/search — recent stories with these words\n"
            "/why &lt;url&gt; — why an article did (not) reach you\n"
            "/settings — all your settings\n"
            "/pause · /resume · /stop (forget me: deletes your data)\n"
            "/bind @channel — manage a channel you admin from this chat\n"
            "/id — your user id and this chat's id\n"
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
    "more_items": {
        "zh-Hans": "……还有 {count} 条，发送 /digest 查看",
        "en": "…and {count} more: send /digest to see them",
    },
    "list_sep": {"zh-Hans": "、", "en": ", "},
    # A story translated by the LLM keeps its own title on a line of its own.
    "original_title": {"zh-Hans": "原文：", "zh-Hant": "原文：", "en": "Original: "},
    # Ends a summary the LLM wrote, when ``llm.mark`` is on.
    "llm_mark": {"zh-Hans": "〔AI 摘要〕", "zh-Hant": "〔AI 摘要〕", "en": "[AI summary]"},
    # Group robots (WeCom, DingTalk, Feishu) only send: no command to point to.
    "robot_more_items": {"zh-Hans": "……还有 {count} 条未列出", "en": "…and {count} more not shown"},
    "rest_title": {
        "zh-Hans": "简报未列出的 {count} 条",
        "zh-Hant": "簡報未列出的 {count} 條",
        "en": "The {count} stories the digest left out",
    },
    "rest_gone": {
        "zh-Hans": "这个链接已失效（保留 7 天）",
        "zh-Hant": "這個連結已失效（保留 7 天）",
        "en": "This link has expired (links last 7 days)",
    },
    "robot_more_link": {
        "zh-Hans": "……还有 {count} 条，点此查看全部",
        "zh-Hant": "……還有 {count} 條，點此查看全部",
        "en": "…and {count} more: read them all",
    },
    "unknown_topics_close": {
        "zh-Hans": "没有这些话题：{names}。你是不是想找：{close}？",
        "zh-Hant": "沒有這些話題：{names}。你是不是想找：{close}？",
        "en": "No such topic: {names}. Did you mean: {close}?",
    },
    "unknown_command_close": {
        "zh-Hans": "不认识这个命令。你是不是想用 {command}？",
        "zh-Hant": "不認識這個命令。你是不是想用 {command}？",
        "en": "I don't know that command. Did you mean {command}?",
    },
    "subscribed_keywords": {
        "zh-Hans": "✅ 已订阅：{names}（关键词 {words}）",
        "zh-Hant": "✅ 已訂閱：{names}（關鍵字 {words}）",
        "en": "✅ Following: {names} (keywords {words})",
    },
    "settings": {
        "zh-Hans": (
            "<b>设置</b>\n语言：{lang_name}\n推送时间：{schedule}（/schedule）\n"
            "时区：{timezone}（/timezone）\n免打扰：{quiet}（/quiet）\n过滤：{filters}（/filter）\n"
            "每份简报最多 {items} 条\n状态：{state}"
        ),
        "zh-Hant": (
            "<b>設定</b>\n語言：{lang_name}\n推送時間：{schedule}（/schedule）\n"
            "時區：{timezone}（/timezone）\n免打擾：{quiet}（/quiet）\n過濾：{filters}（/filter）\n"
            "每份簡報最多 {items} 則\n狀態：{state}"
        ),
        "en": (
            "<b>Settings</b>\nLanguage: {lang_name}\nSchedule: {schedule} (/schedule)\n"
            "Timezone: {timezone} (/timezone)\nQuiet hours: {quiet} (/quiet)\n"
            "Filter: {filters} (/filter)\nAt most {items} stories a digest\nState: {state}"
        ),
    },
    "settings_timezone": {
        "zh-Hans": "<b>时区</b>：{timezone}",
        "zh-Hant": "<b>時區</b>：{timezone}",
        "en": "<b>Timezone</b>: {timezone}",
    },
    "settings_quiet": {
        "zh-Hans": "<b>免打扰</b>：{quiet}",
        "zh-Hant": "<b>免打擾</b>：{quiet}",
        "en": "<b>Quiet hours</b>: {quiet}",
    },
    "settings_filter": {
        "zh-Hans": "<b>过滤</b>：{words}",
        "zh-Hant": "<b>過濾</b>：{words}",
        "en": "<b>Filter</b>: {words}",
    },
    "settings_paused": {
        "zh-Hans": "⏸ 已暂停（/resume 恢复）",
        "zh-Hant": "⏸ 已暫停（/resume 恢復）",
        "en": "⏸ Paused (/resume to go on)",
    },
    "state_paused": {"zh-Hans": "已暂停", "zh-Hant": "已暫停", "en": "paused"},
    "state_active": {"zh-Hans": "正常推送", "zh-Hant": "正常推送", "en": "active"},
    "off": {"zh-Hans": "关闭", "zh-Hant": "關閉", "en": "off"},
    "none": {"zh-Hans": "无", "zh-Hant": "無", "en": "none"},
    "digest_while_paused": {
        "zh-Hans": "⏸ 定时推送仍在暂停（/resume 恢复），这是你要的简报：",
        "zh-Hant": "⏸ 定時推送仍在暫停（/resume 恢復），這是你要的簡報：",
        "en": "⏸ Scheduled digests stay paused (/resume to go on); here is the one you asked for:",
    },
    "schedule_help": {
        "zh-Hans": (
            "当前推送时间：<b>{current}</b>\n可以这样写：<code>/schedule 每天 8点</code>、"
            "<code>每天 08:30 和 20:00</code>、<code>工作日 早上8点</code>、<code>每周一 9点</code>、"
            "<code>每3小时</code>、<code>实时</code>（有新闻就推）或 <code>关闭</code>（只在 /digest 时发送）"
        ),
        "zh-Hant": (
            "目前推送時間：<b>{current}</b>\n可以這樣寫：<code>/schedule 每天 8點</code>、"
            "<code>每天 08:30 和 20:00</code>、<code>工作日 早上8點</code>、<code>每週一 9點</code>、"
            "<code>每3小時</code>、<code>即時</code>（有新聞就推）或 <code>關閉</code>（只在 /digest 時傳送）"
        ),
        "en": (
            "Schedule now: <b>{current}</b>\nFor example: <code>/schedule daily 8am</code>, "
            "<code>daily 08:30,20:00</code>, <code>weekdays 9am</code>, <code>weekly mon,thu 09:00</code>, "
            "<code>every 3h</code>, <code>instant</code> (as news comes) or <code>off</code> (only on /digest)"
        ),
    },
    "schedule_unreadable": {
        "zh-Hans": "看不懂推送时间 {value}，推送时间没有改。可以这样写：<code>每天 8点</code>、<code>每天 08:30 和 20:00</code>、<code>工作日 早上8点</code>、<code>每周一 9点</code>、<code>每3小时</code>、<code>实时</code>、<code>关闭</code>。",
        "zh-Hant": "看不懂推送時間 {value}，推送時間沒有改。可以這樣寫：<code>每天 8點</code>、<code>每天 08:30 和 20:00</code>、<code>工作日 早上8點</code>、<code>每週一 9點</code>、<code>每3小時</code>、<code>即時</code>、<code>關閉</code>。",
        "en": "I can't read the schedule {value}; it is unchanged. For example: <code>daily 8am</code>, <code>daily 08:30,20:00</code>, <code>weekdays 9am</code>, <code>weekly mon,thu 09:00</code>, <code>every 3h</code>, <code>instant</code>, <code>off</code>.",
    },
    "timezone_unknown": {
        "zh-Hans": "不认识时区 {value}，时区没有改。可以这样写：<code>北京时间</code>、<code>UTC+8</code>、<code>东八区</code>、<code>东京</code>、<code>Asia/Shanghai</code>。",
        "zh-Hant": "不認識時區 {value}，時區沒有改。可以這樣寫：<code>台北</code>、<code>UTC+8</code>、<code>東八區</code>、<code>香港時間</code>、<code>Asia/Taipei</code>。",
        "en": "Unknown timezone {value}; it is unchanged. For example: <code>Europe/London</code>, <code>new york</code>, <code>UTC-5</code>, <code>GMT+8</code>.",
    },
    "timezone_help": {
        "zh-Hans": "当前时区：<b>{current}</b>\n可以这样写：<code>/timezone 北京时间</code>、<code>UTC+8</code>、<code>东八区</code>、<code>东京</code> 或 <code>Asia/Shanghai</code>。",
        "zh-Hant": "目前時區：<b>{current}</b>\n可以這樣寫：<code>/timezone 台北</code>、<code>UTC+8</code>、<code>東八區</code>、<code>香港時間</code> 或 <code>Asia/Taipei</code>。",
        "en": "Timezone now: <b>{current}</b>\nFor example: <code>/timezone Europe/London</code>, a city such as <code>Tokyo</code>, or an offset such as <code>UTC-5</code>.",
    },
    "quiet_help": {
        "zh-Hans": "当前免打扰：<b>{current}</b>\n可以这样写：<code>/quiet 23点到7点</code>、<code>晚上11点到早上7点</code>、<code>23:00-07:00</code> 或 <code>关闭</code>。期间的新闻会在结束后一起发送。",
        "zh-Hant": "目前免打擾：<b>{current}</b>\n可以這樣寫：<code>/quiet 23點到7點</code>、<code>晚上11點到早上7點</code>、<code>23:00-07:00</code> 或 <code>關閉</code>。期間的新聞會在結束後一起傳送。",
        "en": "Quiet hours now: <b>{current}</b>\nFor example: <code>/quiet 23:00-07:00</code>, <code>11pm-7am</code> or <code>off</code>. What comes meanwhile is sent when they end.",
    },
    "quiet_unreadable": {
        "zh-Hans": "看不懂免打扰时段 {value}，没有改。可以这样写：<code>23点到7点</code>、<code>晚上11点到早上7点</code>、<code>23:00-07:00</code> 或 <code>关闭</code>。",
        "zh-Hant": "看不懂免打擾時段 {value}，沒有改。可以這樣寫：<code>23點到7點</code>、<code>晚上11點到早上7點</code>、<code>23:00-07:00</code> 或 <code>關閉</code>。",
        "en": "I can't read the quiet hours {value}; they are unchanged. For example: <code>23:00-07:00</code>, <code>11pm-7am</code> or <code>off</code>.",
    },
    "schedule_set": {
        "zh-Hans": "✅ 推送时间：{schedule}",
        "zh-Hant": "✅ 推送時間：{schedule}",
        "en": "✅ Schedule: {schedule}",
    },
    "schedule_off": {
        "zh-Hans": "✅ 已关闭定时推送，发送 /digest 随时获取。",
        "zh-Hant": "✅ 已關閉定時推送，傳送 /digest 隨時取得。",
        "en": "✅ No scheduled digests; send /digest whenever you like.",
    },
    "timezone_close": {
        "zh-Hans": "不认识时区 {value}。你是不是想用 <code>{close}</code>？",
        "zh-Hant": "不認識時區 {value}。你是不是想用 <code>{close}</code>？",
        "en": "Unknown timezone {value}. Did you mean <code>{close}</code>?",
    },
    "timezone_set": {
        "zh-Hans": "✅ 时区：{timezone}",
        "zh-Hant": "✅ 時區：{timezone}",
        "en": "✅ Timezone: {timezone}",
    },
    "quiet_set": {
        "zh-Hans": "🌙 免打扰：{quiet}",
        "zh-Hant": "🌙 免打擾：{quiet}",
        "en": "🌙 Quiet hours: {quiet}",
    },
    "quiet_off": {
        "zh-Hans": "🔔 已关闭免打扰。",
        "zh-Hant": "🔔 已關閉免打擾。",
        "en": "🔔 Quiet hours off.",
    },
    "lang_usage": {
        "zh-Hans": "选择语言：<code>/lang zh</code>（简体）、<code>/lang zh-hant</code>（繁體）、<code>/lang en</code>（English）",
        "zh-Hant": "選擇語言：<code>/lang zh</code>（简体）、<code>/lang zh-hant</code>（繁體）、<code>/lang en</code>（English）",
        "en": "Pick a language: <code>/lang zh</code> (简体), <code>/lang zh-hant</code> (繁體), <code>/lang en</code> (English)",
    },
    "lang_invalid": {
        "zh-Hans": "不支持语言 {value}。可选：zh、zh-hant、en。",
        "zh-Hant": "不支援語言 {value}。可選：zh、zh-hant、en。",
        "en": "Language {value} is not available. Pick zh, zh-hant or en.",
    },
    "lang_set": {
        "zh-Hans": "✅ 语言：简体中文",
        "zh-Hant": "✅ 語言：繁體中文",
        "en": "✅ Language: English",
    },
    "filter_empty": {
        "zh-Hans": "没有过滤词。用 <code>/filter +必须有的词 -不要的词</code> 设置，对全部话题生效。",
        "zh-Hant": "沒有過濾詞。用 <code>/filter +必須有的詞 -不要的詞</code> 設定，對全部話題生效。",
        "en": "No filter. Set one with <code>/filter +must-have -unwanted</code>; it covers all your topics.",
    },
    "filter_list": {
        "zh-Hans": "过滤词：{words}",
        "zh-Hant": "過濾詞：{words}",
        "en": "Filter: {words}",
    },
    "filter_set": {
        "zh-Hans": "✅ 过滤词：{words}\n（+ 为必须包含，- 为排除；<code>/filter clear</code> 清除）",
        "zh-Hant": "✅ 過濾詞：{words}\n（+ 為必須包含，- 為排除；<code>/filter clear</code> 清除）",
        "en": "✅ Filter: {words}\n(+ must appear, - must not; <code>/filter clear</code> removes it)",
    },
    "filter_cleared": {
        "zh-Hans": "✅ 已清除过滤词。",
        "zh-Hant": "✅ 已清除過濾詞。",
        "en": "✅ Filter cleared.",
    },
    "search_usage": {
        "zh-Hans": "请写上要搜索的词，例如 <code>/search 比特币</code>。",
        "zh-Hant": "請寫上要搜尋的詞，例如 <code>/search 比特幣</code>。",
        "en": "Give words to look for, e.g. <code>/search bitcoin</code>.",
    },
    "search_none": {
        "zh-Hans": "最近两周没有关于 {query} 的新闻。",
        "zh-Hant": "最近兩週沒有關於 {query} 的新聞。",
        "en": "No stories about {query} in the last two weeks.",
    },
    "search_header": {
        "zh-Hans": "🔎 <b>{query}</b>：{count} 条",
        "zh-Hant": "🔎 <b>{query}</b>：{count} 則",
        "en": "🔎 <b>{query}</b>: {count} stories",
    },
    "why_usage": {
        "zh-Hans": "请附上文章网址，例如 <code>/why https://example.com/news/1</code>。",
        "zh-Hant": "請附上文章網址，例如 <code>/why https://example.com/news/1</code>。",
        "en": "Give the article's URL, e.g. <code>/why https://example.com/news/1</code>.",
    },
    "why_unknown": {
        "zh-Hans": "没有收录这篇文章：{url}\n可能它的来源不在订阅源里，或者还没有抓取到。",
        "zh-Hant": "沒有收錄這篇文章：{url}\n可能它的來源不在訂閱源裡，或者還沒有抓取到。",
        "en": "I have no article at {url}\nIts site may not be one of the feeds, or it was not fetched yet.",
    },
    "why_fetched": {
        "zh-Hans": "📄 <b>{title}</b>\n📥 {fetched} 从订阅源 <code>{feed}</code> 抓取",
        "zh-Hant": "📄 <b>{title}</b>\n📥 {fetched} 從訂閱源 <code>{feed}</code> 抓取",
        "en": "📄 <b>{title}</b>\n📥 fetched {fetched} from feed <code>{feed}</code>",
    },
    "why_story": {
        "zh-Hans": "🧩 新闻 #{story}，共 {sources} 个来源",
        "zh-Hant": "🧩 新聞 #{story}，共 {sources} 個來源",
        "en": "🧩 story #{story}, {sources} source(s)",
    },
    "why_merged": {
        "zh-Hans": "🔗 与新闻 #{story} 合并（<code>{feed}</code> 先报道：{title}），只推送一次",
        "zh-Hant": "🔗 與新聞 #{story} 合併（<code>{feed}</code> 先報導：{title}），只推送一次",
        "en": "🔗 merged into story #{story} (first reported by <code>{feed}</code>: {title}); it is sent once",
    },
    "why_topics": {
        "zh-Hans": "🏷 话题：{names}",
        "zh-Hant": "🏷 話題：{names}",
        "en": "🏷 topics: {names}",
    },
    "why_evidence": {
        "zh-Hans": "   · {name}：{terms}",
        "zh-Hant": "   · {name}：{terms}",
        "en": "   · {name}: {terms}",
    },
    "why_place_title": {"zh-Hans": "标题", "zh-Hant": "標題", "en": "title"},
    "why_place_lead": {"zh-Hans": "导语", "zh-Hant": "導語", "en": "lead"},
    "why_place_body": {"zh-Hans": "正文", "zh-Hant": "正文", "en": "body"},
    "why_no_topics": {
        "zh-Hans": "🏷 没有归入任何话题，所以不会推送",
        "zh-Hant": "🏷 沒有歸入任何話題，所以不會推送",
        "en": "🏷 filed under no topic, so it goes to nobody",
    },
    "why_sent": {
        "zh-Hans": "✅ {at} 已发给你",
        "zh-Hant": "✅ {at} 已傳給你",
        "en": "✅ sent to you {at}",
    },
    "why_queued": {
        "zh-Hans": "⏳ 已在发送队列中，马上送达",
        "zh-Hant": "⏳ 已在傳送佇列中，馬上送達",
        "en": "⏳ in the outbox: on its way to you",
    },
    "why_no_subscriber": {
        "zh-Hans": "ℹ️ 这个聊天还没有订阅，发送 /topics 开始",
        "zh-Hant": "ℹ️ 這個聊天還沒有訂閱，傳送 /topics 開始",
        "en": "ℹ️ this chat follows nothing yet: send /topics",
    },
    "why_not_following": {
        "zh-Hans": "🚫 没发给你：你没有订阅它的话题",
        "zh-Hant": "🚫 沒傳給你：你沒有訂閱它的話題",
        "en": "🚫 not sent: you follow none of its topics",
    },
    "why_topic_keywords": {
        "zh-Hans": "🚫 没发给你：话题 {topic} 的关键词 {rule} 把它挡住了",
        "zh-Hant": "🚫 沒傳給你：話題 {topic} 的關鍵字 {rule} 把它擋住了",
        "en": "🚫 not sent: the keywords {rule} of your topic {topic} kept it out",
    },
    "why_filter": {
        "zh-Hans": "🚫 没发给你：你的过滤词 {rule} 把它挡住了（/filter）",
        "zh-Hant": "🚫 沒傳給你：你的過濾詞 {rule} 把它擋住了（/filter）",
        "en": "🚫 not sent: your filter {rule} kept it out (/filter)",
    },
    "why_pending": {
        "zh-Hans": "⏳ 还没发：会在下一份简报里",
        "zh-Hant": "⏳ 還沒傳：會在下一份簡報裡",
        "en": "⏳ not sent yet: it is in your next digest",
    },
    "why_not_sent": {
        "zh-Hans": "➖ 没发给你：它早于你的订阅，或超出了简报的条数上限",
        "zh-Hant": "➖ 沒傳給你：它早於你的訂閱，或超出了簡報的則數上限",
        "en": "➖ not sent: it came before you followed its topic, or past a digest's item limit",
    },
    "paused": {
        "zh-Hans": "⏸ 已暂停推送。发送 /resume 恢复。",
        "zh-Hant": "⏸ 已暫停推送。傳送 /resume 恢復。",
        "en": "⏸ Digests paused. Send /resume to go on.",
    },
    "pause_already": {
        "zh-Hans": "已经是暂停状态。发送 /resume 恢复。",
        "zh-Hant": "已經是暫停狀態。傳送 /resume 恢復。",
        "en": "Already paused. Send /resume to go on.",
    },
    "resumed": {
        "zh-Hans": "▶️ 已恢复推送，暂停期间的新闻会补发。",
        "zh-Hant": "▶️ 已恢復推送，暫停期間的新聞會補發。",
        "en": "▶️ Digests resumed; what came meanwhile follows.",
    },
    "resume_not_paused": {
        "zh-Hans": "推送没有暂停。",
        "zh-Hant": "推送沒有暫停。",
        "en": "Digests are not paused.",
    },
    "stop_confirm": {
        "zh-Hans": "⚠️ 确定要删除这个聊天的全部订阅和设置吗？这无法撤销。",
        "zh-Hant": "⚠️ 確定要刪除這個聊天的全部訂閱和設定嗎？這無法復原。",
        "en": "⚠️ Delete all of this chat's subscriptions and settings? This cannot be undone.",
    },
    "stop_yes": {"zh-Hans": "删除", "zh-Hant": "刪除", "en": "Delete"},
    "stop_no": {"zh-Hans": "取消", "zh-Hant": "取消", "en": "Cancel"},
    "stop_cancelled": {
        "zh-Hans": "好的，什么都没删。",
        "zh-Hant": "好的，什麼都沒刪。",
        "en": "OK, nothing was deleted.",
    },
    "stopped": {
        "zh-Hans": "👋 已删除这个聊天的全部数据。想回来时发送 /start。",
        "zh-Hant": "👋 已刪除這個聊天的全部資料。想回來時傳送 /start。",
        "en": "👋 All of this chat's data is deleted. Send /start to come back.",
    },
    "stop_nothing": {
        "zh-Hans": "这个聊天没有保存任何数据。",
        "zh-Hant": "這個聊天沒有儲存任何資料。",
        "en": "Nothing is stored for this chat.",
    },
    "bind_usage": {
        "zh-Hans": "用法：<code>/bind @频道用户名</code>（你须是该频道的管理员，并已把本机器人加为管理员）。",
        "zh-Hant": "用法：<code>/bind @頻道使用者名稱</code>（你須是該頻道的管理員，並已把本機器人加為管理員）。",
        "en": "Usage: <code>/bind @channel</code> (you must be one of its admins and have added this bot as an admin).",
    },
    "bind_private_only": {
        "zh-Hans": "请在和我的私聊中管理频道。",
        "zh-Hant": "請在和我的私訊中管理頻道。",
        "en": "Manage channels from your private chat with me.",
    },
    "bind_unsupported": {
        "zh-Hans": "这个平台不支持管理频道。",
        "zh-Hant": "這個平台不支援管理頻道。",
        "en": "Channels cannot be managed on this platform.",
    },
    "bind_not_found": {
        "zh-Hans": "找不到频道 {channel}。请检查用户名，并把本机器人加为频道管理员。",
        "zh-Hant": "找不到頻道 {channel}。請檢查使用者名稱，並把本機器人加為頻道管理員。",
        "en": "I can't find the channel {channel}. Check its name and add this bot as its admin.",
    },
    "bind_not_admin": {
        "zh-Hans": "你不是频道 {channel} 的管理员，不能管理它。",
        "zh-Hant": "你不是頻道 {channel} 的管理員，不能管理它。",
        "en": "You are not an admin of {channel}, so you cannot manage it.",
    },
    "bind_bot_missing": {
        "zh-Hans": "请先把本机器人加为频道 {channel} 的管理员（需要发消息权限）。",
        "zh-Hant": "請先把本機器人加為頻道 {channel} 的管理員（需要發訊息權限）。",
        "en": "Add this bot to {channel} as an admin (allowed to post) first.",
    },
    "bind_done": {
        "zh-Hans": (
            "✅ 已绑定频道 {channel}。在这里发送带频道名的命令来管理它，例如：\n"
            "<code>/subscribe {channel} ai</code>\n<code>/topics {channel}</code>\n"
            "<code>/schedule {channel} daily 08:00</code>\n<code>/list {channel}</code>\n"
            "<code>/stop {channel}</code> 解除并删除"
        ),
        "zh-Hant": (
            "✅ 已綁定頻道 {channel}。在這裡傳送帶頻道名的命令來管理它，例如：\n"
            "<code>/subscribe {channel} ai</code>\n<code>/topics {channel}</code>\n"
            "<code>/schedule {channel} daily 08:00</code>\n<code>/list {channel}</code>\n"
            "<code>/stop {channel}</code> 解除並刪除"
        ),
        "en": (
            "✅ Bound {channel}. Manage it from here by naming it first, e.g.:\n"
            "<code>/subscribe {channel} ai</code>\n<code>/topics {channel}</code>\n"
            "<code>/schedule {channel} daily 08:00</code>\n<code>/list {channel}</code>\n"
            "<code>/stop {channel}</code> to unbind and forget it"
        ),
    },
}

COMMAND_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "start": {"zh-Hans": "开始使用", "zh-Hant": "開始使用", "en": "Start"},
    "help": {"zh-Hans": "帮助", "zh-Hant": "說明", "en": "Help"},
    "topics": {
        "zh-Hans": "全部话题（点按订阅）",
        "zh-Hant": "全部話題（點按訂閱）",
        "en": "All topics (tap to follow)",
    },
    "subscribe": {"zh-Hans": "订阅话题", "zh-Hant": "訂閱話題", "en": "Follow topics"},
    "unsubscribe": {"zh-Hans": "退订话题", "zh-Hant": "退訂話題", "en": "Stop following topics"},
    "list": {"zh-Hans": "我的订阅", "zh-Hant": "我的訂閱", "en": "What I follow"},
    "digest": {"zh-Hans": "立即获取简报", "zh-Hant": "立即取得簡報", "en": "What is new, now"},
    "schedule": {"zh-Hans": "推送时间", "zh-Hant": "推送時間", "en": "When digests come"},
    "timezone": {"zh-Hans": "时区", "zh-Hant": "時區", "en": "Timezone"},
    "quiet": {"zh-Hans": "免打扰时段", "zh-Hant": "免打擾時段", "en": "Quiet hours"},
    "lang": {"zh-Hans": "语言", "zh-Hant": "語言", "en": "Language"},
    "filter": {"zh-Hans": "过滤词", "zh-Hant": "過濾詞", "en": "Keyword filter"},
    "search": {"zh-Hans": "搜索近期新闻", "zh-Hant": "搜尋近期新聞", "en": "Search recent stories"},
    "why": {
        "zh-Hans": "这篇文章为什么（没）发给我",
        "zh-Hant": "這篇文章為什麼（沒）傳給我",
        "en": "Why an article did (not) reach me",
    },
    "settings": {"zh-Hans": "全部设置", "zh-Hant": "全部設定", "en": "All settings"},
    "pause": {"zh-Hans": "暂停推送", "zh-Hant": "暫停推送", "en": "Pause digests"},
    "resume": {"zh-Hans": "恢复推送", "zh-Hant": "恢復推送", "en": "Resume digests"},
    "stop": {
        "zh-Hans": "停止并删除我的数据",
        "zh-Hant": "停止並刪除我的資料",
        "en": "Stop and forget me",
    },
    "bind": {"zh-Hans": "管理我的频道", "zh-Hant": "管理我的頻道", "en": "Manage my channel"},
    "id": {"zh-Hans": "我的用户 ID", "zh-Hant": "我的使用者 ID", "en": "My user id"},
}
"""The menu every user sees; admin commands work without being advertised."""


CATALOGUE.update(ADMIN_CATALOGUE)
CATALOGUE.update(WECHAT_CATALOGUE)


def normalize_lang(code: str | None, default: str = DEFAULT_LANG) -> str:
    """Map a client's language code (``en-GB``, ``zh-hans``…) to a catalogue language."""
    if not code:
        return default
    code = code.lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("zh"):
        traditional = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")
        return "zh-Hant" if code.startswith(traditional) else "zh-Hans"
    return default


def t(key: str, lang: str, **values: Any) -> str:
    entry = CATALOGUE[key]
    template = entry.get(lang) or _fallback(key, lang)
    return template.format(**values) if values else template


@functools.cache
def _fallback(key: str, lang: str) -> str:
    """A string missing in zh-Hant is the Simplified one converted (placeholders are ASCII)."""
    template = CATALOGUE[key][DEFAULT_LANG]
    return to_traditional(template) if lang == "zh-Hant" else template
