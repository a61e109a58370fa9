"""Group robots (WeCom, DingTalk, Feishu): the renderer, signing, the senders, the limits.

Outbound only. ``render``: digests as each platform's JSON body within its byte limit;
``signing``: DingTalk's and Feishu's request signatures; ``senders``: posting to a robot's
webhook, the spacing between its messages, answers classified by error code; ``limits``: body
sizes, rates and rate-limit codes, each with its source.
"""
