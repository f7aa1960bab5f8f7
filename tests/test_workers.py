"""ThreadWorker's bounds: a queue that drops its oldest job, a time limit per job, and a close that never hangs."""

import threading
import time

from coach.workers import JobDropped, JobTimedOut, ThreadWorker


def _drain(worker: ThreadWorker, until: float = 5.0, want: int = 1) -> list:
    got, deadline = [], time.monotonic() + until
    while time.monotonic() < deadline and len([u for u in got if u.kind != "partial"]) < want:
        while worker.peek() is not None:
            got.append(worker.pop())
        time.sleep(0.01)
    return got


def test_jobs_run_in_order_on_one_thread_and_report_partials():
    w = ThreadWorker("t", time.monotonic)
    names = []

    def job(n):
        def fn(emit, cancelled):
            names.append(threading.current_thread().name)
            emit(n)
            return n * 10
        return fn

    ids = [w.submit(job(n), 0.0) for n in range(3)]
    updates = _drain(w, want=3)
    w.close()
    done = [(u.job, u.value) for u in updates if u.kind == "done"]
    assert done == [(ids[0], 0), (ids[1], 10), (ids[2], 20)]
    assert [u.value for u in updates if u.kind == "partial"] == [0, 1, 2]
    assert set(names) == {"coach-t"}


def test_a_full_queue_drops_its_oldest_waiting_job_with_an_error():
    w = ThreadWorker("t", time.monotonic, max_queued=2)
    gate = threading.Event()
    first = w.submit(lambda emit, cancelled: gate.wait(5) and "first", 0.0)
    time.sleep(0.05)  # the first job is running, not waiting
    waiting = [w.submit(lambda emit, cancelled, n=n: n, 0.0) for n in range(3)]
    gate.set()
    updates = _drain(w, want=4)
    w.close()
    by_job = {u.job: u for u in updates if u.kind != "partial"}
    assert isinstance(by_job[waiting[0]].value, JobDropped)
    assert by_job[first].value == "first"
    assert [by_job[j].value for j in waiting[1:]] == [1, 2]


def test_a_hung_job_times_out_and_the_next_job_still_runs_after_it_returns():
    w = ThreadWorker("t", time.monotonic, timeout_s=0.2)
    stop = threading.Event()

    def hung(emit, cancelled):
        while not cancelled():  # a model that checks between steps stops when told
            time.sleep(0.01)
        stop.set()
        return "late"

    slow = w.submit(hung, 0.0)
    after = w.submit(lambda emit, cancelled: "next", 0.0)
    updates = _drain(w, want=2)
    w.close()
    results = {u.job: u.value for u in updates if u.kind != "partial"}
    assert isinstance(results[slow], JobTimedOut)  # its late "done" never comes
    assert results[after] == "next"
    assert stop.is_set()


def test_close_does_not_wait_for_a_model_that_never_returns():
    w = ThreadWorker("t", time.monotonic, timeout_s=30)
    never = threading.Event()
    w.submit(lambda emit, cancelled: never.wait(), 0.0)  # ignores cancelled(): native code that hangs
    time.sleep(0.05)
    t0 = time.monotonic()
    w.close(wait_s=0.3)
    assert time.monotonic() - t0 < 1.0
    never.set()


def test_a_worker_thread_carries_its_name_where_the_os_shows_it():
    import sys

    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("thread names in /proc are Linux's")
    w = ThreadWorker("stt", clock=lambda: 0.0)
    try:
        seen = []
        w.submit(lambda emit, cancelled: seen.append(open(f"/proc/self/task/{threading.get_native_id()}/comm").read()), 0.0)
        for _ in range(100):
            if seen:
                break
            threading.Event().wait(0.01)
        assert seen == ["coach-stt\n"]
    finally:
        w.close()
