"""The config: typed settings from YAML and the environment, the topic taxonomy, channel sections, and edits that keep comments."""
