"""Reply catalogue of the admin commands (merged into ``bot.i18n.CATALOGUE``)."""

from __future__ import annotations

ADMIN_CATALOGUE: dict[str, dict[str, str]] = {
    "help_admin": {
        "zh-Hans": (
            "<b>管理员命令</b>\n"
            "/feeds 订阅源 — 订阅源的健康状况\n"
            "/addfeed 网址 [话题…] — 添加订阅源（网址可以是网站首页）\n"
            "/rmfeed 编号 — 删除订阅源\n"
            "/topic add|rm|alias — 新增、删除话题或添加别名（含空格的词加引号）\n"
            "/stats 统计 — 运行统计\n"
            "/broadcast 内容 — 发给全部订阅者\n"
            "/reload 重载 — 重新读取配置文件"
        ),
        "zh-Hant": (
            "<b>管理員命令</b>\n"
            "/feeds 訂閱源 — 訂閱源的健康狀況\n"
            "/addfeed 網址 [話題…] — 新增訂閱源（網址可以是網站首頁）\n"
            "/rmfeed 編號 — 刪除訂閱源\n"
            "/topic add|rm|alias — 新增、刪除話題或新增別名（含空格的詞加引號）\n"
            "/stats 統計 — 執行統計\n"
            "/broadcast 內容 — 傳給全部訂閱者\n"
            "/reload 重載 — 重新讀取設定檔"
        ),
        "en": (
            "<b>Admin commands</b>\n"
            "/feeds — feed health\n"
            "/addfeed URL [topic…] — add a feed (a site's page will do)\n"
            "/rmfeed ID — remove a feed\n"
            "/topic add|rm|alias — add or delete a topic, or give it aliases (quote words with spaces)\n"
            "/stats — statistics\n"
            "/broadcast TEXT — to every subscriber\n"
            "/reload — read the config files again"
        ),
    },
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
            "<code>/topic add 编号 中文名 英文名 [关键词…]</code> — 新增话题；含空格的名称或关键词加引号，"
            '如 <code>/topic add un 联合国 "United Nations" "UN Security Council" 安理会</code>'
            "（也可用 “ ” 或 「 」）\n"
            "<code>/topic rm 话题</code> — 删除话题\n"
            "<code>/topic alias 话题 别名…</code> — 添加别名（可用于订阅，也用于匹配文章）"
        ),
        "zh-Hant": (
            "用法：\n"
            "<code>/topic add 編號 中文名 英文名 [關鍵詞…]</code> — 新增話題；含空格的名稱或關鍵詞加引號，"
            '如 <code>/topic add un 聯合國 "United Nations" "UN Security Council" 安理會</code>'
            "（也可用 “ ” 或 「 」）\n"
            "<code>/topic rm 話題</code> — 刪除話題\n"
            "<code>/topic alias 話題 別名…</code> — 新增別名（可用於訂閱，也用於比對文章）"
        ),
        "en": (
            "Usage:\n"
            "<code>/topic add ID zh-name en-name [keyword…]</code> — a new topic; quote names and "
            'keywords that have spaces, e.g. <code>/topic add un 联合国 "United Nations" '
            '"UN Security Council"</code> (“ ” and 「 」 work too)\n'
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
    "stats_llm": {
        "zh-Hans": "LLM 今日（UTC）：{calls} 次调用 · {tokens} tokens{left} · 通过 {ok} · 拒绝 {rejected} · 失败 {failed}",
        "zh-Hant": "LLM 今日（UTC）：{calls} 次呼叫 · {tokens} tokens{left} · 通過 {ok} · 拒絕 {rejected} · 失敗 {failed}",
        "en": "LLM today (UTC): {calls} calls · {tokens} tokens{left} · {ok} ok · {rejected} rejected · {failed} failed",
    },
    "stats_llm_left": {
        "zh-Hans": "（预算余 {left}）",
        "zh-Hant": "（預算餘 {left}）",
        "en": " ({left} left in the budget)",
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
    "addfeed_id_taken": {
        "zh-Hans": "\nℹ️ 编号 <code>{wanted}</code> 属于一个已删除的订阅源（它的文章仍记在这个编号下），所以新订阅源用 <code>{feed}</code>。",
        "zh-Hant": "\nℹ️ 編號 <code>{wanted}</code> 屬於一個已刪除的訂閱源（它的文章仍記在這個編號下），所以新訂閱源用 <code>{feed}</code>。",
        "en": "\nℹ️ <code>{wanted}</code> is the id of a removed feed (its stored entries are still filed under it), so this one is <code>{feed}</code>.",
    },
    # -- a group robot refused by its platform (bot.admin_notices.robot_paused) -------------
    "robot_paused": {
        "zh-Hans": "⚠️ 群机器人 <b>{robot}</b>（{platform}）被平台拒绝，已暂停：{reason}\n👉 {advice}\n它的简报会保留。修好后：如果改了 <code>{env}</code>，请重启 newsbrief；否则发 /reload（或重启）即可重试。",
        "zh-Hant": "⚠️ 群組機器人 <b>{robot}</b>（{platform}）被平台拒絕，已暫停：{reason}\n👉 {advice}\n它的簡報會保留。修好後：如果改了 <code>{env}</code>，請重新啟動 newsbrief；否則傳送 /reload（或重新啟動）即可重試。",
        "en": "⚠️ Robot <b>{robot}</b> ({platform}) was refused by its platform and is paused: {reason}\n👉 {advice}\nIts digests wait. Once fixed: if you changed <code>{env}</code>, restart newsbrief; otherwise /reload (or a restart) tries it again.",
    },
    "robot_fix_key": {
        "zh-Hans": "key 不对，或机器人已被移出群。请在群设置里打开这个机器人，重新复制完整的 Webhook 地址（或其中的 key），放进环境变量 <code>{env}</code>；机器人被删了就重新添加一个。",
        "zh-Hant": "key 不對，或機器人已被移出群組。請在群組設定裡打開這個機器人，重新複製完整的 Webhook 網址（或其中的 key），放進環境變數 <code>{env}</code>；機器人被刪了就重新新增一個。",
        "en": "The key is wrong or the robot was removed. Open the robot in the group's settings, copy its whole webhook URL (or just the key) again into <code>{env}</code>; if the robot is gone, add a new one.",
    },
    "robot_fix_enable": {
        "zh-Hans": "机器人被停用了。请在群设置里重新启用它。",
        "zh-Hant": "機器人被停用了。請在群組設定裡重新啟用它。",
        "en": "The robot is disabled. Turn it back on in the group's settings.",
    },
    "robot_fix_member": {
        "zh-Hans": "机器人已不在群里（或群已解散）。请把机器人重新加进群，并把新的 Webhook 地址放进 <code>{env}</code>。",
        "zh-Hant": "機器人已不在群組裡（或群組已解散）。請把機器人重新加入群組，並把新的 Webhook 網址放進 <code>{env}</code>。",
        "en": "The robot is no longer in the group (or the group was dissolved). Add it to the group again and put its new webhook URL into <code>{env}</code>.",
    },
    "robot_fix_keyword": {
        "zh-Hans": "消息里没有机器人安全设置要求的关键词。请把关键词设成每期简报标题都有的词（如“简报”或“digest”），或改用加签。",
        "zh-Hant": "訊息裡沒有機器人安全設定要求的關鍵詞。請把關鍵詞設成每期簡報標題都有的詞（如「简报」或「digest」），或改用加簽。",
        "en": "The message lacks the keyword the robot's security setting asks for. Set a keyword every digest title holds (such as 简报 or digest), or use signing instead.",
    },
    "robot_fix_sign": {
        "zh-Hans": "签名校验失败。请重新复制签名密钥到 <code>{secret_env}</code>（钉钉的以 SEC 开头），并检查服务器时间是否准确。",
        "zh-Hant": "簽名校驗失敗。請重新複製簽名密鑰到 <code>{secret_env}</code>（釘釘的以 SEC 開頭），並檢查伺服器時間是否準確。",
        "en": "The signature check failed. Copy the signing secret again into <code>{secret_env}</code> (DingTalk's starts with SEC) and check the server's clock.",
    },
    "robot_fix_ip": {
        "zh-Hans": "服务器的 IP 不在机器人的 IP 白名单里。请把它加进白名单，或改用关键词/加签。",
        "zh-Hant": "伺服器的 IP 不在機器人的 IP 白名單裡。請把它加進白名單，或改用關鍵詞／加簽。",
        "en": "This server's IP address is not on the robot's IP whitelist. Add it, or switch the robot to a keyword or signing.",
    },
    "robot_fix_security": {
        "zh-Hans": "没有通过机器人的安全设置。请检查关键词、签名密钥 <code>{secret_env}</code>、服务器时间和 IP 白名单。",
        "zh-Hant": "沒有通過機器人的安全設定。請檢查關鍵詞、簽名密鑰 <code>{secret_env}</code>、伺服器時間和 IP 白名單。",
        "en": "The robot's security setting refused the message. Check its keyword, the signing secret in <code>{secret_env}</code>, the server's clock and the IP whitelist.",
    },
    "robot_fix_api": {
        "zh-Hans": "接口地址不对，或机器人已被删除。请检查配置里的 <code>{section}.api_base_url</code> 和 <code>{env}</code> 里的 key。",
        "zh-Hant": "介面位址不對，或機器人已被刪除。請檢查設定裡的 <code>{section}.api_base_url</code> 和 <code>{env}</code> 裡的 key。",
        "en": "The API address is wrong or the robot was deleted. Check <code>{section}.api_base_url</code> in the config and the key in <code>{env}</code>.",
    },
    "robot_fix_config": {
        "zh-Hans": "这个进程没有这个机器人的 key。请确认它在配置的 <code>robots</code> 里，并且启动时设置了 <code>{env}</code>。",
        "zh-Hant": "這個程序沒有這個機器人的 key。請確認它在設定的 <code>robots</code> 裡，並且啟動時設定了 <code>{env}</code>。",
        "en": "This process has no key for the robot. Check that it is under <code>robots</code> in the config and that <code>{env}</code> was set when newsbrief started.",
    },
    "robot_fix_other": {
        "zh-Hans": "请在群设置里检查这个机器人，并检查 <code>{env}</code> 里的 key。",
        "zh-Hant": "請在群組設定裡檢查這個機器人，並檢查 <code>{env}</code> 裡的 key。",
        "en": "Check the robot in the group's settings and the key in <code>{env}</code>.",
    },
}
