"""A local OKX v5 exchange (REST + WebSocket) for tests, demos and offline development.

This package imports nothing from the rest of okxbot: it is an independent model of OKX, so
that the client and the simulator check each other.
"""
