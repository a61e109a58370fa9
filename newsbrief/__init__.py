"""The core: typed records, the pure pipeline stages, the fetcher, storage, config and the core CLI."""
