"""Several hubs sweep one outbox: each undelivered row is claimed by exactly one of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from hub.store import Store
from hub.store.queues import add_outbox
from protocol.messages import utcnow

LEASE = timedelta(seconds=30)


def _rows(store: Store, n: int) -> list[int]:
    then = utcnow() - timedelta(minutes=1)
    with store.session(write=True) as s:
        return [add_outbox(s, then, "notify", f"a{i}", {"i": i}) for i in range(n)]


def test_two_hubs_claiming_at_once_split_the_rows(store_url: str, store: Store) -> None:
    ids = _rows(store, 40)
    other = Store(store_url)  # a second hub: its own engine and connection pool
    try:
        before = utcnow()
        with ThreadPoolExecutor(2) as pool:
            a, b = pool.map(
                lambda hub: hub[1].outbox_claim(hub[0], before, LEASE, limit=25),
                [("hub-a", store), ("hub-b", other)],
            )
        got_a, got_b = {r.id for r in a}, {r.id for r in b}
        assert not got_a & got_b  # never the same row to both
        assert got_a | got_b <= set(ids)
        # whatever is left goes to the next sweep; nothing is claimed twice while leased
        rest = {r.id for r in other.outbox_claim("hub-b", utcnow(), LEASE)}
        assert not rest & got_a
        assert got_a | got_b | rest == set(ids)
        # a hub takes back its own claims at once (e.g. after its restart), here with a lease
        # that runs out at once...
        assert {r.id for r in store.outbox_claim("hub-a", utcnow(), timedelta(0))} == got_a
        # ...and then anyone takes them (their claimer died)
        later = {r.id for r in other.outbox_claim("hub-b", utcnow(), LEASE)}
        assert later == set(ids)  # hub-a's expired rows and hub-b's own
    finally:
        other.close()


def test_delivered_rows_are_never_claimed(store: Store) -> None:
    ids = _rows(store, 3)
    store.outbox_delivered(ids[:2])
    assert [r.id for r in store.outbox_claim("hub-a", utcnow(), LEASE)] == ids[2:]


def test_a_hub_sending_a_row_keeps_peers_off_it(store_url: str, store: Store) -> None:
    """A slow webhook outlasts the takeover delay: the writer's renewed lease keeps it its own."""
    (row,) = _rows(store, 1)
    store.outbox_hold("hub-a", [row], LEASE)  # hub-a is still sending it
    other = Store(store_url)
    try:
        assert other.outbox_claim("hub-b", utcnow(), LEASE) == []
        other.outbox_hold("hub-b", [row], LEASE)  # hub-b cannot take a live lease either
        assert [r.id for r in store.outbox_claim("hub-a", utcnow(), LEASE)] == [row]
    finally:
        other.close()
