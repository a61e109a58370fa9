"""Telegram: the python-telegram-bot application, digest rendering within its limits, the sender."""
