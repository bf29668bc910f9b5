"""The hand-over of order events after payments (`shop.orders.events.hand_over`): events of payments that finish
while one hand-over runs go together in the next, each caller returns once its events are handed over, and a
caller that stops waiting does not stop the hand-over."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from shop.orders import events


def _paid(order_id: int) -> events.OrderEvent:
    return events.OrderEvent(events.ORDER_PAID, order_id, 7, {"total_fen": 100})


async def test_events_arriving_during_a_hand_over_go_together_in_the_next() -> None:
    # given a batch subscriber that holds its first hand-over until released
    seen: list[list[int]] = []
    release = asyncio.Event()

    async def subscriber(batch: list[events.OrderEvent]) -> None:
        seen.append([event.order_id for event in batch])
        if len(seen) == 1:
            await release.wait()

    events.subscribe_batch(events.ORDER_PAID, subscriber)
    try:
        # when one payment hands its event over, and three more finish while that hand-over runs
        first = asyncio.create_task(events.hand_over([_paid(1)]))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        later = [asyncio.create_task(events.hand_over([_paid(n)])) for n in (2, 3, 4)]
        await asyncio.sleep(0.01)
        waiting = [task.done() for task in (first, *later)]
        release.set()
        await asyncio.wait_for(asyncio.gather(first, *later), 5)
    finally:
        events.unsubscribe_batch(events.ORDER_PAID, subscriber)

    # then the first went alone, the three others together, and no caller returned before its hand-over
    assert seen == [[1], [2, 3, 4]]
    assert waiting == [False, False, False, False]


async def test_a_caller_that_stops_waiting_does_not_stop_the_hand_over() -> None:
    # given a subscriber slow enough for the caller to give up
    seen: list[int] = []

    async def subscriber(batch: list[events.OrderEvent]) -> None:
        await asyncio.sleep(0.05)
        seen.extend(event.order_id for event in batch)

    events.subscribe_batch(events.ORDER_PAID, subscriber)
    try:
        # when the caller is cancelled while its event is being handed over
        caller = asyncio.create_task(events.hand_over([_paid(9)]))
        await asyncio.sleep(0.01)
        caller.cancel()
        await asyncio.sleep(0.1)
    finally:
        events.unsubscribe_batch(events.ORDER_PAID, subscriber)

    # then the event was still handed over
    assert caller.cancelled()
    assert seen == [9]


async def test_a_failing_subscriber_is_logged_and_every_caller_returns() -> None:
    # given a batch subscriber that fails, and a per-event subscriber that works
    got: list[int] = []

    async def failing(batch: list[events.OrderEvent]) -> None:
        raise RuntimeError("logistics is down")

    def working(event: events.OrderEvent) -> None:
        got.append(event.order_id)

    events.subscribe_batch(events.ORDER_PAID, failing)
    events.subscribe(events.ORDER_PAID, working)
    try:
        # when two events are handed over
        with capture_logs() as logs:
            await asyncio.wait_for(asyncio.gather(events.hand_over([_paid(5)]), events.hand_over([_paid(6)])), 5)
    finally:
        events.unsubscribe_batch(events.ORDER_PAID, failing)
        events.unsubscribe(events.ORDER_PAID, working)

    # then the working subscriber had both, and the one failure (both were handed over together: the second came
    # before the hand-over task first ran) was logged with the orders it concerned
    assert got == [5, 6]
    failures = [entry for entry in logs if entry["event"] == "order_event_subscriber_failed"]
    assert [(f["order_id"], f["order_ids"], f["error"]) for f in failures] == [(None, [5, 6], "logistics is down")]


async def test_a_stopping_app_releases_every_caller_and_leaves_the_rest_to_the_relay() -> None:
    # given a hand-over stuck in its subscriber, and a second payment waiting for the next one
    seen: list[int] = []

    async def stuck(batch: list[events.OrderEvent]) -> None:
        seen.extend(event.order_id for event in batch)
        await asyncio.Event().wait()

    events.subscribe_batch(events.ORDER_PAID, stuck)
    try:
        first = asyncio.create_task(events.hand_over([_paid(11)]))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(events.hand_over([_paid(12)]))
        await asyncio.sleep(0.01)
        # when the app stops and its hand-over task is cancelled
        running = events._hand_overs[asyncio.get_running_loop()].task
        assert running is not None
        running.cancel()
        await asyncio.wait_for(asyncio.gather(first, second), 5)
    finally:
        events.unsubscribe_batch(events.ORDER_PAID, stuck)

    # then both callers returned, and only the first event had reached the subscriber (the second is the relay's)
    assert seen == [11]
    assert events._hand_overs[asyncio.get_running_loop()].waiting == []
