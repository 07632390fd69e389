"""Exchange access over ccxt: OKX's limits and a fair rate limiter, clock, errors, client order ids,
the client, posture.

`limits` is the one table of OKX's documented rate limits; `ratelimit` (+ `ratelimit_redis`) makes
every request wait on exactly the buckets it consumes, in one process or shared through Redis;
`client.OkxClient` is the API the rest of okxbot uses. See docs/architecture.md for the contracts.
"""
