"""What the scheduler runs: thin ticks that claim due work and call the core, the runtime, the entry point."""
