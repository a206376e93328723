"""``apps.core.cache.RedisCache``: Django's Redis cache, one redis-py client per pool (on real Redis)."""

from __future__ import annotations

import threading
import uuid

from django.core.cache import caches

from apps.core.cache import RedisCache


def _cache(redis_url: str) -> RedisCache:
    return RedisCache(redis_url, {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})


def test_the_settings_use_it_when_redis_is_configured(redis_service: str) -> None:
    assert isinstance(caches["default"], RedisCache)


def test_one_client_serves_every_call(redis_service: str) -> None:
    cache = _cache(redis_service)
    client = cache._cache.get_client()
    assert cache._cache.get_client() is client
    assert cache._cache.get_client(write=True) is client  # one server: reads and writes share a pool
    assert client.connection_pool is cache._cache._get_connection_pool(False)


def test_operations_behave_as_djangos(redis_service: str) -> None:
    cache = _cache(redis_service)
    assert cache.get("missing", "default") == "default"
    assert cache.add("k", {"a": 1}, timeout=30) is True
    assert cache.add("k", "other", timeout=30) is False  # add does not overwrite
    assert cache.get("k") == {"a": 1}
    assert cache.add("n", 0) is True
    assert cache.incr("n") == 1
    assert cache.get("n") == 1
    cache.delete("k")
    assert cache.get("k") is None


def test_threads_share_the_client_and_see_each_others_writes(redis_service: str) -> None:
    cache = _cache(redis_service)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                cache.set(f"t{n}:{i}", i, timeout=30)
                assert cache.get(f"t{n}:{i}") == i
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.get_many([f"t{n}:49" for n in range(8)]) == {f"t{n}:49": 49 for n in range(8)}
    assert len(cache._cache._clients) == 1
