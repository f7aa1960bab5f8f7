"""The facilitator's outbox: in order, never holding up the caller, partials of one hint merged while they wait."""

import asyncio

from coach.outbox import Outbox

HINT = "coach.hint"

class SlowLink:
    def __init__(self, delay_s: float = 0.0):
        self.delay_s, self.sent = delay_s, []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, topic, payload):
        await self.gate.wait()
        await asyncio.sleep(self.delay_s)
        self.sent.append((topic, dict(payload)))

async def test_messages_go_out_in_order_and_put_never_waits():
    link = SlowLink(delay_s=0.05)
    box = Outbox(link.send, HINT)
    box.put("coach.transcript", {"turn_id": 1, "text": "a"})
    box.put(HINT, {"id": 1, "partial": False, "summary": "s"})
    assert link.sent == []  # put returned before anything was sent
    await box.flush()
    assert [t for t, _ in link.sent] == ["coach.transcript", HINT]
    await box.aclose()

async def test_waiting_partials_of_one_hint_merge_and_the_final_replaces_them():
    link = SlowLink()
    link.gate.clear()  # the link is stuck: everything waits
    box = Outbox(link.send, HINT)
    box.put("coach.transcript", {"turn_id": 1})
    await asyncio.sleep(0)  # the transcript is being sent (stuck); what follows waits
    box.put(HINT, {"id": 1, "partial": True, "suggestion": "Ask them.", "follow_ups": ["What?", "How?"]})
    box.put(HINT, {"id": 1, "partial": True, "summary": "It sounds like …"})
    box.put(HINT, {"id": 1, "partial": True, "summary": "It sounds like a part …"})
    box.put(HINT, {"id": 2, "partial": True, "summary": "other"})
    link.gate.set()
    await box.flush()
    hints = [p for t, p in link.sent if t == HINT]
    assert hints[0] == {"id": 1, "partial": True, "suggestion": "Ask them.", "follow_ups": ["What?", "How?"],
                        "summary": "It sounds like a part …"}
    assert [h["id"] for h in hints] == [1, 2]

    link.gate.clear()
    box.put("coach.transcript", {"turn_id": 2})
    await asyncio.sleep(0)
    box.put(HINT, {"id": 3, "partial": True, "summary": "It sounds"})
    box.put(HINT, {"id": 3, "partial": False, "summary": "It sounds like done.", "suggestion": "x"})
    link.gate.set()
    await box.flush()
    assert [p for t, p in link.sent if t == HINT][-1]["partial"] is False
    assert sum(1 for t, p in link.sent if t == HINT and p["id"] == 3) == 1
    await box.aclose()

async def test_a_full_queue_drops_partials_first_and_a_failed_send_does_not_stop_the_rest():
    calls = []

    async def flaky(topic, payload):
        calls.append(payload)
        if payload.get("boom"):
            raise ConnectionError("gone")

    box = Outbox(flaky, HINT, max_items=3)
    box.put("coach.transcript", {"turn_id": 1, "boom": True})
    box.put(HINT, {"id": 1, "partial": True, "summary": "a"})
    box.put("coach.transcript", {"turn_id": 2})
    box.put("coach.transcript", {"turn_id": 3})
    box.put("coach.transcript", {"turn_id": 4})
    assert box.dropped >= 1
    await box.flush()
    assert [c.get("turn_id") for c in calls if "turn_id" in c][-1] == 4
    assert not any(c.get("summary") == "a" for c in calls)  # the partial went first
    await box.aclose()
