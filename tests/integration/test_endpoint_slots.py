"""The per-endpoint limit on components built at once, on a real Redis."""

from __future__ import annotations

import threading
import time

from shared.limits import EndpointSlots


def test_slots_are_limited_released_and_expire(redis_client):
    slots = EndpointSlots(redis_client, endpoint_id=7, limit=2, ttl=1.0)
    redis_client.delete(slots.key)
    assert slots.take("a") and slots.take("b")
    assert not slots.take("c")
    slots.release("a")
    assert slots.take("c")
    assert slots.holders() == 2
    time.sleep(1.2)  # "b" and "c" died without releasing: their slots expire
    assert slots.take("d") and slots.take("e")


def test_refresh_keeps_a_slot(redis_client):
    slots = EndpointSlots(redis_client, endpoint_id=8, limit=1, ttl=3.0)
    redis_client.delete(slots.key)
    assert slots.take("long")
    for _ in range(3):
        time.sleep(0.3)
        slots.refresh("long")
        assert not slots.take("other")


def test_concurrent_takers_never_exceed_the_limit(redis_client):
    slots = EndpointSlots(redis_client, endpoint_id=9, limit=3, ttl=30.0)
    redis_client.delete(slots.key)
    won = []
    barrier = threading.Barrier(12)

    def take(name: str) -> None:
        barrier.wait()
        if slots.take(name):
            won.append(name)

    threads = [threading.Thread(target=take, args=(f"w{n}",)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 3


def test_without_redis_there_is_no_limit():
    slots = EndpointSlots(None, endpoint_id=1, limit=1)
    assert slots.take("a") and slots.take("b")
