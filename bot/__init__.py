"""Everything that talks to chat platforms: the command core, i18n, one folder per channel."""
