"""The channel-agnostic command core: text in, reply out, for every chat platform."""
