"""Backtests: the bot's own strategy, risk guard and order manager on OKX history, through the
simulator's matching engine on a virtual clock (see docs/architecture.md, "Backtests")."""
