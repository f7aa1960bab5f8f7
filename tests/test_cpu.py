"""Model threads that fit the CPU the coach gets (coach/cpu.py)."""

from coach import cpu


def test_the_two_models_together_never_take_more_than_the_cores():
    assert [cpu.threads_per_model(n) for n in (1, 2, 3, 4, 8)] == [1, 1, 1, 2, 4]


def test_the_llm_gives_up_threads_to_other_programs_but_keeps_one():
    assert cpu.llm_threads_now(base=4, cores=8, others_busy=0.0) == 4
    assert cpu.llm_threads_now(base=4, cores=8, others_busy=2.5) == 4  # 1.5 cores still spare
    assert cpu.llm_threads_now(base=4, cores=8, others_busy=4.5) == 3  # half a core short: one thread fewer
    assert cpu.llm_threads_now(base=4, cores=8, others_busy=7.5) == 1
    assert cpu.llm_threads_now(base=1, cores=2, others_busy=1.9) == 1


def test_the_meter_reads_this_machine():
    meter = cpu.CpuMeter()
    busy = meter.others_busy()
    assert 0.0 <= busy <= cpu.usable_cores() + 1
