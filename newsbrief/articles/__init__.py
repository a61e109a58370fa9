"""PROCESS, pure: an entry's page to a clean article (extract, clean, canonical URL), its story (dedup), topics, keywords and summary."""
