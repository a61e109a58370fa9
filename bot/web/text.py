"""The console's words in its two languages; each page module brings its own ``TEXT``."""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("zh-Hans", "en")
"""The console's languages; the first is the default."""

Table = Mapping[str, Mapping[str, str]]

TEXT: Table = {
    "title": {"zh-Hans": "newsbrief 管理台", "en": "newsbrief console"},
    "signin": {"zh-Hans": "登录", "en": "Sign in"},
    "signin_token": {"zh-Hans": "管理令牌", "en": "Admin token"},
    "signin_hint": {
        "zh-Hans": "令牌即环境变量 NEWSBRIEF_ADMIN__TOKEN 的值。",
        "en": "The token is the value of NEWSBRIEF_ADMIN__TOKEN.",
    },
    "signin_wrong": {"zh-Hans": "令牌不对。", "en": "That token is wrong."},
    "signin_wait": {
        "zh-Hans": "失败次数过多，请 {seconds} 秒后再试。",
        "en": "Too many failed attempts: try again in {seconds} s.",
    },
    "signout": {"zh-Hans": "退出", "en": "Sign out"},
    "switch_lang": {"zh-Hans": "English", "en": "中文"},
    "skip": {"zh-Hans": "跳到正文", "en": "Skip to content"},
    "none": {"zh-Hans": "无", "en": "none"},
    "never": {"zh-Hans": "从未", "en": "never"},
    "save": {"zh-Hans": "保存", "en": "Save"},
    "error_title": {"zh-Hans": "出错了", "en": "Something went wrong"},
    "too_large": {
        "zh-Hans": "413：上传的内容超过 {mb} MB，未做任何更改。OPML 文件请拆分后分批导入。",
        "en": "413: the upload is larger than {mb} MB; nothing was changed. Split an OPML file "
        "and import it in parts.",
    },
    "counted_ago": {
        "zh-Hans": "订阅者较多，以下统计为 {seconds} 秒前的结果（每分钟更新）。",
        "en": "Many subscribers: these counts are {seconds} s old (recounted every minute).",
    },
}


class Words:
    """Every table merged; a key defined twice is a mistake caught at start-up."""

    def __init__(self, *tables: Table) -> None:
        self._words: dict[str, Mapping[str, str]] = dict(TEXT)
        for table in tables:
            for key, forms in table.items():
                if key in self._words:
                    raise ValueError(f"console text {key!r} is defined twice")
                missing = [lang for lang in LANGS if lang not in forms]
                if missing:
                    raise ValueError(f"console text {key!r} has no {', '.join(missing)} form")
                self._words[key] = forms

    def has(self, key: str) -> bool:
        return key in self._words

    def get(self, key: str, lang: str, **values: object) -> str:
        forms = self._words[key]
        text = forms.get(lang) or forms[LANGS[0]]
        return text.format(**values) if values else text
