"""How much CPU the coach really gets, and the model threads that fit it.

Whisper and llama.cpp each run a pool of threads that wait on one another at every step: more threads than free
cores and a descheduled thread stalls the rest (measured here: a 25-token hint took 67 s instead of 1 s with 2+2
threads on 2 cores beside two browsers). So the two models share the cores between them, never more, and the LLM
gives up threads to whatever else keeps the machine busy (the facilitator's own browser, always on this machine).
"""

from __future__ import annotations

import math
import os
import threading
import time


def usable_cores() -> int:
    """Cores this process may run on (a container or `taskset` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_model(cores: int | None = None) -> int:
    """Half the usable cores each for speech to text and the LLM, at least one: together never more than there are."""
    return max(1, (cores or usable_cores()) // 2)


class CpuMeter:
    """Cores kept busy by other processes since the last reading, from /proc (Linux); 0 where that is unknown."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = self._read()
        self._value = 0.0  # the last reading, given again when asked more often than every 0.2 s

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = [float(x) for x in f.readline().split()[1:]]
            with open("/proc/self/stat") as f:
                own = f.read().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        busy = (sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)) / hz  # all but idle and iowait
        return time.monotonic(), busy, (float(own[11]) + float(own[12])) / hz  # utime + stime

    def others_busy(self) -> float:
        with self._lock:
            now, last = self._read(), self._last
            if now is None or last is None:
                return 0.0
            if now[0] - last[0] < 0.2:
                return self._value
            self._last = now
            wall = now[0] - last[0]
            self._value = max(0.0, ((now[1] - last[1]) - (now[2] - last[2])) / wall)
            return self._value


def llm_threads_now(base: int, cores: int, others_busy: float) -> int:
    """The LLM's threads for the next hint: its share, less what other programs are using beyond theirs."""
    spare = cores - base - others_busy  # what is left after speech to text's share and everything else
    return max(1, min(base, base + math.floor(spare)))  # floor: half a core short is a thread short
