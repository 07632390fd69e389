"""Automated trading: strategies, risk guard, order manager with a write-ahead journal, the runner."""
