"""WeCom app and WeChat Official Account callbacks: crypto, the XML protocol, the inbound server."""
