"""OSS provisioning with a stand-in network: fallout, retry and failure of service orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twin.kernel import Sim
from twin.messages import ActivationCommand, ActivationResult, ServiceOrder, ServiceOrderUpdate
from twin.oss.provisioning import OSS_KNOWS_DOWN, Provisioning
from twin.scenario.schema import ProvisioningSpec

H = 3600.0


class Stand:
    """A network whose cell is down until ``up_at``, and an OSS that may or may not know."""

    def __init__(self, sim: Sim, spec: ProvisioningSpec, up_at: float, oss_knows: bool) -> None:
        self.sim, self.up_at, self.oss_knows = sim, up_at, oss_knows
        self.updates: list[ServiceOrderUpdate] = []
        self.commands: list[tuple[float, ActivationCommand]] = []
        self.prov = Provisioning(sim, spec, self.publish, self.cell_out)

    def cell_out(self, cell: str) -> bool:
        return self.oss_knows and self.sim.now < self.up_at

    def publish(self, msg: Any) -> None:
        if isinstance(msg, ActivationCommand):
            self.commands.append((self.sim.now, msg))
            ok = self.sim.now >= self.up_at
            self.prov.on_activation_result(ActivationResult(
                msg.service_order_id, msg.sub, msg.action, ok,
                "" if ok else "serving cell out of service"))
        else:
            self.updates.append(msg)


def order(sim: Sim) -> ServiceOrder:
    return ServiceOrder(7, 3, "add", 42, "site1-c1", "consumer_postpaid", sim.now)


@pytest.mark.parametrize("oss_knows", [True, False])
def test_fallout_then_retry_until_the_cell_is_back(make_sim: Callable[..., Sim],
                                                   oss_knows: bool) -> None:
    sim = make_sim(horizon=24 * H)
    spec = ProvisioningSpec(processing_mean=0.0, retry_interval=H, max_attempts=5)
    st = Stand(sim, spec, up_at=2.5 * H, oss_knows=oss_knows)
    st.prov.on_service_order(order(sim))
    sim.env.run(until=24 * H)
    states = [(u.state, u.at, u.attempts) for u in st.updates]
    # attempts at 0, 1 h, 2 h fall out; the one at 3 h goes through
    assert states == [("held", 0.0, 1), ("held", H, 2), ("held", 2 * H, 3),
                      ("completed", 3 * H, 4)]
    reason = OSS_KNOWS_DOWN if oss_knows else "activation rejected: serving cell out of service"
    assert {u.reason for u in st.updates[:3]} == {reason}
    # an OSS that knows the cell is down does not bother the network until it is back
    assert len(st.commands) == (1 if oss_knows else 4)
    assert st.prov.counts == dict(received=1, completed=1, failed=0, fallouts=3)


def test_fails_after_max_attempts(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=24 * H)
    spec = ProvisioningSpec(processing_mean=0.0, retry_interval=H, max_attempts=3)
    st = Stand(sim, spec, up_at=10 * H, oss_knows=True)
    st.prov.on_service_order(order(sim))
    sim.env.run(until=24 * H)
    assert [(u.state, u.attempts) for u in st.updates] == [("held", 1), ("held", 2),
                                                           ("failed", 3)]
    assert st.updates[-1].at == 2 * H and not st.commands
    st.prov.write()
    sim.records.close()
