"""Message bus: explicit routing by type, latency via simpy, loud failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import simpy

from twin.kernel import MessageBus


@dataclass(frozen=True)
class Ping:
    n: int


@dataclass(frozen=True)
class Pong:
    n: int


@dataclass(frozen=True)
class SubPing(Ping):
    pass


class Boom(RuntimeError):
    pass


def test_routes_by_exact_type() -> None:
    env = simpy.Environment()
    bus = MessageBus(env)
    pings: list[Ping] = []
    pongs: list[Pong] = []
    bus.subscribe(Ping, pings.append)
    bus.subscribe(Pong, pongs.append)
    bus.publish(Ping(1))
    bus.publish(Pong(2))
    bus.publish(Ping(3))
    assert pings == [Ping(1), Ping(3)]
    assert pongs == [Pong(2)]
    assert bus.published == {"Ping": 2, "Pong": 1}


def test_every_subscriber_of_a_type_receives_it_in_order() -> None:
    bus = MessageBus(simpy.Environment())
    got: list[tuple[str, int]] = []
    bus.subscribe(Ping, lambda m: got.append(("first", m.n)))
    bus.subscribe(Ping, lambda m: got.append(("second", m.n)))
    bus.publish(Ping(1))
    assert got == [("first", 1), ("second", 1)]


def test_routes_table_names_the_handlers() -> None:
    bus = MessageBus(simpy.Environment())

    def on_ping(m: Ping) -> None: ...

    bus.subscribe(Ping, on_ping)
    routes = bus.routes()
    assert list(routes) == ["Ping"]
    assert routes["Ping"][0].endswith("on_ping")


def test_publishing_a_type_without_handler_raises() -> None:
    bus = MessageBus(simpy.Environment())
    bus.subscribe(Ping, lambda m: None)
    with pytest.raises(LookupError, match="Pong"):
        bus.publish(Pong(1))
    # a subclass is a different type: the table is explicit, no implicit dispatch
    with pytest.raises(LookupError, match="SubPing"):
        bus.publish(SubPing(1))


def test_negative_latency_is_rejected() -> None:
    bus = MessageBus(simpy.Environment())
    with pytest.raises(ValueError):
        bus.subscribe(Ping, lambda m: None, latency_s=-1)


def test_immediate_delivery_happens_at_publish_time() -> None:
    env = simpy.Environment()
    bus = MessageBus(env)
    seen: list[float] = []
    bus.subscribe(Ping, lambda m: seen.append(env.now))

    def producer() -> Any:
        yield env.timeout(7)
        bus.publish(Ping(1))

    env.process(producer())
    env.run()
    assert seen == [7]


def test_latency_delivers_later_via_simpy() -> None:
    env = simpy.Environment()
    bus = MessageBus(env)
    fast: list[float] = []
    slow: list[tuple[float, int]] = []
    bus.subscribe(Ping, lambda m: fast.append(env.now))
    bus.subscribe(Ping, lambda m: slow.append((env.now, m.n)), latency_s=30)

    def producer() -> Any:
        yield env.timeout(10)
        bus.publish(Ping(1))
        yield env.timeout(5)
        bus.publish(Ping(2))

    env.process(producer())
    env.run(until=20)
    assert fast == [10, 15]
    assert slow == []  # not yet delivered
    env.run(until=100)
    assert slow == [(40, 1), (45, 2)]


def test_taps_observe_every_message_with_its_time() -> None:
    env = simpy.Environment()
    bus = MessageBus(env)
    log: list[tuple[float, object]] = []
    bus.subscribe(Ping, lambda m: None, latency_s=5)
    bus.tap(lambda t, m: log.append((t, m)))
    bus.publish(Ping(1))
    assert log == [(0, Ping(1))]  # tapped at publish, not at delivery


def test_immediate_handler_exception_propagates_out_of_env_run() -> None:
    env = simpy.Environment()
    bus = MessageBus(env)

    def handler(m: Ping) -> None:
        raise Boom(f"bad ping {m.n}")

    bus.subscribe(Ping, handler)

    def producer() -> Any:
        yield env.timeout(3)
        bus.publish(Ping(9))

    env.process(producer())
    with pytest.raises(Boom, match="bad ping 9"):
        env.run()


def test_delayed_handler_exception_propagates_out_of_env_run() -> None:
    env = simpy.Environment()
    bus = MessageBus(env)
    delivered: list[int] = []

    def handler(m: Ping) -> None:
        delivered.append(m.n)
        raise Boom("late failure")

    bus.subscribe(Ping, handler, latency_s=60)
    bus.publish(Ping(1))  # nothing happens yet
    assert delivered == []
    with pytest.raises(Boom, match="late failure"):
        env.run(until=1000)
    assert delivered == [1]
    assert env.now == 60  # the run stopped at the failure, it did not carry on


def test_handler_exception_fails_sim_run(make_sim: Any) -> None:
    sim = make_sim(horizon=3600.0)

    def handler(m: Ping) -> None:
        raise Boom("handler failed")

    sim.bus.subscribe(Ping, handler, latency_s=10)

    def producer() -> Any:
        yield sim.env.timeout(100)
        sim.bus.publish(Ping(1))

    sim.env.process(producer())
    with pytest.raises(Boom):
        sim.run()


def test_drain_delivers_messages_in_flight_once_in_due_order() -> None:
    env = simpy.Environment()
    bus = MessageBus(env)
    got: list[int] = []
    bus.subscribe(Ping, lambda m: got.append(m.n), latency_s=30)
    bus.subscribe(Pong, lambda m: got.append(100 + m.n), latency_s=5)
    bus.publish(Ping(1))
    bus.publish(Pong(2))
    bus.drain()  # the clock never moved: without drain both would be lost
    assert got == [102, 1]
    env.run(until=100)
    assert got == [102, 1]  # not delivered a second time
