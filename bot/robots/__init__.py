"""Group robots (WeCom, DingTalk, Feishu): rendering within their limits, signing, the senders."""
