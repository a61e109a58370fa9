"""Reply catalogue of the admin commands (merged into ``bot.i18n.CATALOGUE``)."""

from __future__ import annotations

ADMIN_CATALOGUE: dict[str, dict[str, str]] = {
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
    # -- config edits from chat: /rmfeed, /topic, /reload; and hand edits refused -----------
    "no_config_file": {
        "zh-Hans": "这个进程不是从配置文件启动的，无法修改或重载配置。",
        "zh-Hant": "這個程序不是從設定檔啟動的，無法修改或重新載入設定。",
        "en": "This process was not started from a config file, so it cannot edit or reload one.",
    },
    "config_edit_failed": {
        "zh-Hans": "没有修改，配置保持原样：\n{reason}",
        "zh-Hant": "沒有修改，設定保持原樣：\n{reason}",
        "en": "Nothing changed, the config stays as it was:\n{reason}",
    },
    "config_read_only": {
        "zh-Hans": "没有修改：<code>{file}</code> 是只读的（文件、所在文件夹或磁盘不可写）。请让服务器管理员开放写权限，或手动编辑。",
        "zh-Hant": "沒有修改：<code>{file}</code> 是唯讀的（檔案、所在資料夾或磁碟不可寫入）。請讓伺服器管理員開放寫入權限，或手動編輯。",
        "en": "Nothing changed: <code>{file}</code> is read-only (the file, its folder or its disk). Ask whoever runs the server to make it writable, or edit it by hand.",
    },
    "config_unwritable": {
        "zh-Hans": "没有修改：无法写入 <code>{file}</code>（{reason}）。",
        "zh-Hant": "沒有修改：無法寫入 <code>{file}</code>（{reason}）。",
        "en": "Nothing changed: <code>{file}</code> cannot be written ({reason}).",
    },
    "config_layout": {
        "zh-Hans": "没有修改：<code>{file}</code> 的写法无法自动安全修改，请手动编辑。\n{reason}",
        "zh-Hant": "沒有修改：<code>{file}</code> 的寫法無法自動安全修改，請手動編輯。\n{reason}",
        "en": "Nothing changed: <code>{file}</code> is laid out in a way an automatic edit cannot handle safely; edit it by hand.\n{reason}",
    },
    "rmfeed_usage": {
        "zh-Hans": "用法：<code>/rmfeed 源编号</code>（编号见 /feeds）。订阅源从配置中删除，已抓取的文章保留。",
        "zh-Hant": "用法：<code>/rmfeed 來源編號</code>（編號見 /feeds）。訂閱源從設定中刪除，已抓取的文章保留。",
        "en": "Usage: <code>/rmfeed ID</code> (ids are in /feeds). The feed leaves the config; what it brought in stays.",
    },
    "rmfeed_unknown": {
        "zh-Hans": "配置里没有编号为 <code>{feed}</code> 的订阅源。发送 /feeds 查看全部。",
        "zh-Hant": "設定裡沒有編號為 <code>{feed}</code> 的訂閱源。傳送 /feeds 查看全部。",
        "en": "The config has no feed <code>{feed}</code>. Send /feeds to see them all.",
    },
    "rmfeed_done": {
        "zh-Hans": "🗑 已删除订阅源 <code>{feed}</code>，不再抓取；它的 {entries} 条文章保留。",
        "zh-Hant": "🗑 已刪除訂閱源 <code>{feed}</code>，不再抓取；它的 {entries} 篇文章保留。",
        "en": "🗑 Removed feed <code>{feed}</code>: no longer polled; its {entries} entries are kept.",
    },
    "topic_usage": {
        "zh-Hans": (
            "用法：\n"
            "<code>/topic add 编号 中文名 英文名 [关键词…]</code> — 新增话题\n"
            "<code>/topic rm 话题</code> — 删除话题\n"
            "<code>/topic alias 话题 别名…</code> — 添加别名（可用于订阅，也用于匹配文章）"
        ),
        "zh-Hant": (
            "用法：\n"
            "<code>/topic add 編號 中文名 英文名 [關鍵詞…]</code> — 新增話題\n"
            "<code>/topic rm 話題</code> — 刪除話題\n"
            "<code>/topic alias 話題 別名…</code> — 新增別名（可用於訂閱，也用於比對文章）"
        ),
        "en": (
            "Usage:\n"
            "<code>/topic add ID zh-name en-name [keyword…]</code> — a new topic\n"
            "<code>/topic rm TOPIC</code> — delete a topic\n"
            "<code>/topic alias TOPIC ALIAS…</code> — more names (accepted in commands and matched in articles)"
        ),
    },
    "topic_bad_id": {
        "zh-Hans": "话题编号 <code>{id}</code> 不合格式：以小写字母或数字开头，只含小写字母、数字、- 和 _，最长 64 个字符。",
        "zh-Hant": "話題編號 <code>{id}</code> 格式不符：以小寫字母或數字開頭，只含小寫字母、數字、- 和 _，最長 64 個字元。",
        "en": "<code>{id}</code> is not a topic id: a lowercase letter or digit first, then lowercase letters, digits, - and _, at most 64.",
    },
    "topic_exists": {
        "zh-Hans": "话题 <code>{id}</code> 已经存在（{name}）。",
        "zh-Hant": "話題 <code>{id}</code> 已經存在（{name}）。",
        "en": "Topic <code>{id}</code> exists already ({name}).",
    },
    "topic_added": {
        "zh-Hans": "✅ 已新增话题 <code>{id}</code>：{zh} / {en}，写入 {file}，已生效。",
        "zh-Hant": "✅ 已新增話題 <code>{id}</code>：{zh} / {en}，寫入 {file}，已生效。",
        "en": "✅ Added topic <code>{id}</code>: {zh} / {en}, written to {file}, in force now.",
    },
    "topic_removed": {
        "zh-Hans": "🗑 已从 {file} 删除话题 <code>{id}</code>（{name}），已生效。",
        "zh-Hant": "🗑 已從 {file} 刪除話題 <code>{id}</code>（{name}），已生效。",
        "en": "🗑 Deleted topic <code>{id}</code> ({name}) from {file}; in force now.",
    },
    "topic_not_in_files": {
        "zh-Hans": "话题 <code>{id}</code> 不在任何配置文件里（可能来自环境变量），无法在这里修改。",
        "zh-Hant": "話題 <code>{id}</code> 不在任何設定檔裡（可能來自環境變數），無法在這裡修改。",
        "en": "Topic <code>{id}</code> is in neither config file (the environment, perhaps), so it cannot be edited here.",
    },
    "topic_aliases_added": {
        "zh-Hans": "✅ 话题 <code>{id}</code>（{name}）新增别名：{aliases}，写入 {file}，已生效。",
        "zh-Hant": "✅ 話題 <code>{id}</code>（{name}）新增別名：{aliases}，寫入 {file}，已生效。",
        "en": "✅ Topic <code>{id}</code> ({name}) has new aliases: {aliases}; written to {file}, in force now.",
    },
    "topic_aliases_known": {
        "zh-Hans": "话题 <code>{id}</code> 已经有这些别名了。",
        "zh-Hant": "話題 <code>{id}</code> 已經有這些別名了。",
        "en": "Topic <code>{id}</code> has those aliases already.",
    },
    "reload_done": {
        "zh-Hans": "🔄 已重新读取配置：{feeds} 个订阅源，{topics} 个话题。",
        "zh-Hant": "🔄 已重新讀取設定：{feeds} 個訂閱源，{topics} 個話題。",
        "en": "🔄 Config reloaded: {feeds} feeds, {topics} topics.",
    },
    "reload_refused": {
        "zh-Hans": "⚠️ 配置有误，没有重载，仍在使用上次的有效配置：\n{reason}",
        "zh-Hant": "⚠️ 設定有誤，沒有重新載入，仍在使用上次的有效設定：\n{reason}",
        "en": "⚠️ The config has errors and was not reloaded; the last good one stays in force:\n{reason}",
    },
    "config_refused": {
        "zh-Hans": "⚠️ 配置文件的修改有误，没有生效，仍在使用上次的有效配置。请修正：",
        "zh-Hant": "⚠️ 設定檔的修改有誤，沒有生效，仍在使用上次的有效設定。請修正：",
        "en": "⚠️ An edit of the config files has errors and was not applied; the last good config stays in force. Please fix:",
    },
    "config_refused_more": {
        "zh-Hans": "……还有 {count} 个问题",
        "zh-Hant": "……還有 {count} 個問題",
        "en": "…and {count} more problems",
    },
    "problems_more": {
        "zh-Hans": "……还有 {count} 个问题",
        "zh-Hant": "……還有 {count} 個問題",
        "en": "…and {count} more",
    },
    # -- /stats --------------------------------------------------------------------------
    "stats_header": {
        "zh-Hans": "<b>运行统计</b>",
        "zh-Hant": "<b>執行統計</b>",
        "en": "<b>Statistics</b>",
    },
    "stats_subscribers": {
        "zh-Hans": "订阅者：{total}（活跃 {active}，暂停 {paused}）",
        "zh-Hant": "訂閱者：{total}（活躍 {active}，暫停 {paused}）",
        "en": "Subscribers: {total} ({active} active, {paused} paused)",
    },
    "stats_topics": {
        "zh-Hans": "热门话题（订阅数）：{topics}",
        "zh-Hant": "熱門話題（訂閱數）：{topics}",
        "en": "Top topics (subscriptions): {topics}",
    },
    "stats_no_topics": {
        "zh-Hans": "热门话题：暂无订阅",
        "zh-Hant": "熱門話題：暫無訂閱",
        "en": "Top topics: no subscriptions yet",
    },
    "stats_feeds": {
        "zh-Hans": "订阅源：正常 {ok} · 出错 {failing} · 已停用 {disabled} · 未抓取 {new} · 已删除 {removed}",
        "zh-Hant": "訂閱源：正常 {ok} · 出錯 {failing} · 已停用 {disabled} · 未抓取 {new} · 已刪除 {removed}",
        "en": "Feeds: {ok} ok · {failing} failing · {disabled} disabled · {new} new · {removed} removed",
    },
    "stats_content": {
        "zh-Hans": "最近 24 小时：{stories} 个事件，{articles} 篇文章",
        "zh-Hant": "最近 24 小時：{stories} 則事件，{articles} 篇文章",
        "en": "Last 24 h: {stories} stories, {articles} articles",
    },
    "stats_outbox": {
        "zh-Hans": "发送队列：待发 {pending} · 24 小时内失败 {failed} · 24 小时内已发 {sent}",
        "zh-Hant": "發送佇列：待發 {pending} · 24 小時內失敗 {failed} · 24 小時內已發 {sent}",
        "en": "Outbox: {pending} pending · {failed} failed (24 h) · {sent} sent (24 h)",
    },
    # -- /broadcast ----------------------------------------------------------------------
    "broadcast_usage": {
        "zh-Hans": "用法：<code>/broadcast 内容</code>，发给每个未暂停的订阅者。",
        "zh-Hant": "用法：<code>/broadcast 內容</code>，傳給每個未暫停的訂閱者。",
        "en": "Usage: <code>/broadcast TEXT</code>; it goes to every subscriber that is not paused.",
    },
    "broadcast_too_long": {
        "zh-Hans": "内容太长（{length} 字符），最多 {limit}。",
        "zh-Hant": "內容太長（{length} 字元），最多 {limit}。",
        "en": "That is too long ({length} characters); at most {limit}.",
    },
    "broadcast_done": {
        "zh-Hans": "📢 已排队发给 {count} 个订阅者。",
        "zh-Hant": "📢 已排隊傳給 {count} 個訂閱者。",
        "en": "📢 Queued for {count} subscribers.",
    },
    "broadcast_repeat": {
        "zh-Hans": "今天已经广播过同样的内容（{total} 个订阅者），没有重复发送。",
        "zh-Hant": "今天已經廣播過同樣的內容（{total} 個訂閱者），沒有重複傳送。",
        "en": "The same text was broadcast today already ({total} subscribers); not sent again.",
    },
}
