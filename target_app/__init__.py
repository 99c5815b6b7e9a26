"""The app every replica runs. It never imports ``harness``."""
