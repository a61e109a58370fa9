"""POLL, pure: feed bytes to entries (RSS, Atom, RDF, JSON Feed), OPML, discovery, the polling rhythm."""

# What a feed request asks for: the feed formats first, then anything (sites mislabel feeds).
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
