"""Exchange access over ccxt: rate limits, clock, errors, client order ids, the client, posture."""
