"""okxbot: automated trading on OKX through its API keys, done safely."""

__version__ = "0.1.0"
