"""`okxbot serve`: a supervisor of many bots in one process, its HTTP API, web dashboard and /metrics.

See docs/architecture.md "Serve" for the module map and the contracts between the modules.
"""
