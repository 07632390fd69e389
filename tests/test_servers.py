"""The throwaway servers the other tests rely on really start and answer."""

import redis as redis_lib
import sqlalchemy as sa


def test_redis_server_answers(redis):
    client = redis_lib.Redis.from_url(redis.url)
    assert client.ping() is True
    client.set("okxbot:probe", "1")
    assert client.get("okxbot:probe") == b"1"


def test_postgres_server_answers(postgres):
    engine = sa.create_engine(postgres.url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 40 + 2")).scalar() == 42
    engine.dispose()
