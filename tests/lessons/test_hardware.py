"""Lesson 04's arithmetic: the overhead model, the peak verdict, and predictions from specification sheets,
each checked against the same formula worked by hand."""

from __future__ import annotations

import math

import pytest

from labkit import bench
from labkit.data import specifications
from labkit.errors import ParameterError
from labkit.lessons import hardware as hw

NS = [64, 128, 256, 512, 1024]


def _times(t0: float, gflops: float) -> list[float]:
    return [t0 + 2 * n**3 / (gflops * 1e9) for n in NS]


def test_overhead_model_recovers_the_constants_it_was_made_from() -> None:
    t0, rate = hw.fit_overhead_model(NS, _times(2e-5, 150.0))
    assert t0 == pytest.approx(2e-5, rel=1e-6)
    assert rate == pytest.approx(150.0, rel=1e-6)
    assert hw.model_time(1000, t0, rate) == pytest.approx(2e-5 + 2e9 / 150e9, rel=1e-6)


def _rounds(slow: list[float], fast: list[float], wobble: float = 0.0) -> list[dict]:
    """What bench.Comparison.as_dict() stores per size: five rounds around T_slow / T_fast, ± wobble."""
    out = [{"ratios": [a / b * (1 + wobble * k) for k in (-1, -0.5, 0, 0.5, 1)], "ratio": a / b,
            "tolerance": bench.TOLERANCE} for a, b in zip(slow, fast, strict=True)]
    return [c | {"verdict": bench.verdict(c["ratios"]), "reason": ""} for c in out]


def test_a_busy_machines_cannot_tell_is_no_crossover() -> None:
    one, every = _times(1e-6, 40.0), _times(3e-5, 160.0)
    rounds = _rounds(one, every)
    busy = {"verdict": "cannot tell", "reason": "the machine was busy (this process got 40 % of the CPU time ...)"}
    rounds[-1] |= busy  # every round of the largest size says faster, but waiting for the CPU could explain it
    sweep = {"n": NS, "cpu_1thread": {"matmul_s": one}, "cpu": {"matmul_s": every},
             "compared": {"cpu_1thread/cpu": rounds}}
    (pair,) = hw.speedups(sweep)
    assert bench.verdict(rounds[-1]["ratios"]) == "faster" and pair["verdicts"][-1] == "cannot tell"
    assert pair["crossover"] is None, "the largest size could not tell: no crossover"


def test_speedups_of_a_sweep_match_the_models_they_fit() -> None:
    one = _times(1e-6, 40.0)
    every = _times(3e-5, 160.0)
    sweep = {"n": NS, "cpu_1thread": {"matmul_s": one}, "cpu": {"matmul_s": every},
             "compared": {"cpu_1thread/cpu": _rounds(one, every)}}
    (pair,) = hw.speedups(sweep)
    assert pair["speedup"] == pytest.approx([a / b for a, b in zip(one, every, strict=True)])
    assert pair["model"] == pytest.approx(pair["speedup"], rel=1e-6)  # exact data: the model is the data
    assert pair["worst_ratio"] == pytest.approx(1.0, rel=1e-6)
    # T1 = T_all where 1e-6 + 2n³/40e9 = 3e-5 + 2n³/160e9, n ≈ 83: the first size past it is 128
    assert pair["crossover"] == 128 and pair["verdicts"][0] == "slower"
    assert "gpu" not in {k for _, _, k in hw.speedup_pairs(sweep)}


def test_a_crossover_the_rounds_cannot_tell_is_not_a_crossover() -> None:
    one = _times(1e-6, 40.0)
    every = _times(3e-5, 160.0)
    # rounds that scatter by ±60 % around the true ratio: some rounds say slower wherever it is below 1.6×
    sweep = {"n": NS, "cpu_1thread": {"matmul_s": one}, "cpu": {"matmul_s": every},
             "compared": {"cpu_1thread/cpu": _rounds(one, every, wobble=0.6)}}
    (pair,) = hw.speedups(sweep)
    assert pair["crossover_ignoring_noise"] == 128, "the two medians alone"
    ratios = [a / b for a, b in zip(one, every, strict=True)]
    want = min(n for n, r in zip(NS, ratios, strict=True) if all(q * 0.4 > 1.02 for q in ratios[NS.index(n):]))
    assert pair["crossover"] == want > 128
    assert all(v in bench.VERDICTS for v in pair["verdicts"])


def test_growth_sentence_states_both_ratios() -> None:
    seconds = [1.0, 2.0, 4.0, 8.0, 16.0]
    text = hw.growth_sentence(NS, seconds, 64, 256)
    assert "work grows 64×" in text and "time 4.0×" in text and "far less than the work" in text
    assert "about as the work does" in hw.growth_sentence(NS, [n**3 for n in NS], 64, 256)


PEAK = {"peak_gflops": 166.4, "threads": 2, "flops_per_cycle": 32, "ghz": 2.6, "clock_from": "/proc/cpuinfo"}


def test_a_measurement_under_the_peak_is_a_fraction_of_it() -> None:
    text = hw.peak_verdict(83.2, PEAK)
    assert "50% of the estimated peak" in text


def test_a_measurement_over_the_peak_proves_the_estimate_wrong() -> None:
    text = hw.peak_verdict(192.0, PEAK)
    assert "the estimate is wrong" in text
    assert f"{192.0 / (2 * 32):.2f} GHz" in text  # 3.00 GHz: what the measurement needs at 32 FLOP per cycle
    assert "no peak estimate" in hw.peak_verdict(10.0, {})


def test_a_cpu_finds_its_sheet_and_its_bfloat16_estimate() -> None:
    sheets = specifications("cpu")
    zen4 = hw.cpu_sheet(sheets, 25, 17)  # family 19h, model 11h: Genoa
    assert zen4 is not None and "Zen 4" in zen4["name"]
    assert hw.cpu_sheet(sheets, 25, 1) is None and hw.cpu_sheet(sheets, None, None) is None  # Zen 3: no sheet
    assert hw.dtype_estimate(PEAK, zen4, "bfloat16") == pytest.approx(2 * 166.4)  # 64 against 32 per cycle
    assert hw.dtype_estimate(PEAK, None, "bfloat16") is None and hw.dtype_estimate({}, zen4, "bfloat16") is None


@pytest.fixture(scope="module")
def t4() -> dict:
    (spec,) = [s for s in specifications("gpu") if hw.short_name(s) == "T4"]
    return spec


def test_prediction_is_launch_plus_the_slower_of_compute_and_memory_plus_copies(t4) -> None:
    n = 4096
    flops, moved = bench.matmul_flops(n), 3 * 4 * n * n
    compute = flops / (t4["peak_tflops"]["float32"] * 1e12)
    memory = moved / (t4["memory_bandwidth_gbps"] * 1e9)
    assert compute > memory  # a big matmul is compute-bound
    assert hw.predicted_seconds(flops, moved, t4) == pytest.approx(1e-5 + compute)
    copies = moved / (t4["host_link"]["gbps_per_direction"] * 1e9)
    assert hw.predicted_seconds(flops, moved, t4, copy_bytes=moved) == pytest.approx(1e-5 + compute + copies)
    # an addition does n² FLOPs on the same bytes: memory-bound
    assert hw.predicted_seconds(n * n, moved, t4, launch_s=0) == pytest.approx(memory)


def test_a_dtype_the_sheet_does_not_give_is_refused(t4) -> None:
    with pytest.raises(ParameterError, match=r"dtype = 'bfloat16' is not allowed for NVIDIA T4.*float32"):
        hw.predicted_seconds(1.0, 1.0, t4, dtype="bfloat16")


def test_predict_sweep_agrees_with_one_call_predictions(t4) -> None:
    out = hw.predict_sweep(NS, t4, launch_s=2e-5)
    for i, n in enumerate(NS):
        moved = 12 * n * n
        assert out["matmul_s"][i] == hw.predicted_seconds(bench.matmul_flops(n), moved, t4, launch_s=2e-5)
        assert out["add_with_copies_s"][i] == hw.predicted_seconds(n * n, moved, t4, launch_s=2e-5,
                                                                   copy_bytes=moved)
        assert out["matmul_with_copies_s"][i] > out["matmul_s"][i]


def test_break_even_is_the_first_size_where_the_gpu_wins(t4) -> None:
    cpu = (2e-6, 190.0)
    n = hw.break_even_n(cpu, t4)
    assert n is not None and n > 1

    def gpu(m: int) -> float:
        return hw.predicted_seconds(bench.matmul_flops(m), 12 * m * m, t4)

    assert gpu(n) < hw.model_time(n, *cpu)
    assert gpu(n - 1) >= hw.model_time(n - 1, *cpu)
    with_copies = hw.break_even_n(cpu, t4, copies=True)
    assert with_copies is not None and with_copies > n  # copying the data in and out costs more sizes
    # a GPU that needed a whole second to launch never beats this CPU on a matmul below 2^16
    assert hw.break_even_n(cpu, t4, launch_s=1.0, largest=2_000) is None


def test_short_names_are_the_model(t4) -> None:
    assert hw.short_name(t4) == "T4"
    assert hw.short_name({"name": "AMD EPYC 9654"}) == "AMD EPYC 9654"


def test_reference_runs_are_only_this_lessons_gpu_runs(tmp_path, monkeypatch) -> None:
    from labkit import results

    (tmp_path / "reference").mkdir()

    def write(name: str, notebook: str, gpu: bool) -> None:
        run = results.start(notebook, {})
        run.save(str(tmp_path / "reference" / name), {"gpu_present": gpu, "hardware": {"gpu": "NVIDIA H100"}})

    write("measured_h100.json", hw.LESSON, True)
    write("measured_cpu_only.json", hw.LESSON, False)
    write("measured_other_lesson.json", "06_classifier", True)
    write("spec_not_a_measurement.json", hw.LESSON, True)
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    (ref,) = hw.load_references()
    assert ref["file"] == "measured_h100.json"
    assert hw.ref_label(ref).startswith("measured: NVIDIA H100 (")


def test_no_data_folder_means_no_references(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "missing"))
    assert hw.load_references() == []


def test_every_gpu_sheet_predicts_a_finite_break_even() -> None:
    for spec in specifications("gpu"):
        n = hw.break_even_n((2e-6, 190.0), spec)
        assert n is not None and math.isfinite(n), spec["name"]


# ---- the explorer: is this matmul worth moving to that GPU? --------------------------------------

CPU_FIT = (2e-6, 190.0)
MEASURED = (NS, _times(*CPU_FIT))


def test_gpu_parts_add_up_to_the_prediction(t4) -> None:
    for copies in (True, False):
        parts = hw.gpu_parts(2048, t4, launch_s=3e-5, copies=copies)
        moved = 12 * 2048 * 2048
        assert parts["total"] == hw.predicted_seconds(bench.matmul_flops(2048), moved, t4, launch_s=3e-5,
                                                      copy_bytes=moved if copies else 0.0)
        assert parts["launch"] + parts["work"] + parts["copies"] == pytest.approx(parts["total"])
        assert parts["work"] == pytest.approx(bench.matmul_flops(2048) / (t4["peak_tflops"]["float32"] * 1e12))
        assert (parts["copies"] > 0) is copies


def test_worth_text_verdict_follows_the_break_even(t4) -> None:
    even = hw.break_even_n(CPU_FIT, t4, copies=True)
    small = hw.worth_text(16, t4, CPU_FIT, MEASURED)
    assert "keep it on the CPU" in small and f"break-even at n = {even:,}" in small
    assert "extrapolated" in small  # 16 lies outside the measured 64…1024
    big = hw.worth_text(1024, t4, CPU_FIT, MEASURED)
    ratio = hw.model_time(1024, *CPU_FIT) / hw.gpu_parts(1024, t4)["total"]
    assert f"the GPU is predicted {ratio:,.1f}× faster" in big and "fitted to this CPU's sweep" in big
    assert "copies" not in hw.worth_text(1024, t4, CPU_FIT, MEASURED, copies=False).split("prediction:")[1]
    slow = hw.worth_text(1024, t4, CPU_FIT, MEASURED, launch_us=1e6)  # a one-second launch pays from n ≈ 4,600
    assert "keep it on the CPU" in slow and f"n = {hw.break_even_n(CPU_FIT, t4, launch_s=1.0, copies=True):,}" in slow
    fast_cpu = (1e-7, 1e6)  # a CPU of a million GFLOP/s: no T4 ever catches it
    assert "no break-even up to n = 65,536" in hw.worth_text(1024, t4, fast_cpu, MEASURED)


def test_worth_figure_draws_the_cpu_measurements_and_marks_the_break_even(t4, agg) -> None:
    fig = hw.worth_figure(256, t4, CPU_FIT, MEASURED)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["CPU: measured here"].get_xdata()) == NS
    assert list(lines["CPU: measured here"].get_ydata()) == MEASURED[1]
    even = hw.break_even_n(CPU_FIT, t4, copies=True)
    assert list(lines[f"break-even, n = {even:,}"].get_xdata()) == [even]
    assert any(label.startswith("T4: predicted, with copies") for label in lines)


def test_worth_explorer_refuses_a_size_off_its_slider(t4) -> None:
    with pytest.raises(ParameterError, match=r"n = 1000 is not allowed for the explorer: one of \[16, 32"):
        hw.worth_explorer({"NVIDIA T4": t4}, CPU_FIT, MEASURED, n=1000)


def test_the_break_even_moves_with_the_launch_cost() -> None:
    specs = specifications("gpu")
    table = hw.break_even_table((2e-6, 150.0), specs, [1e-6, 1e-5, 1e-4])
    assert set(table) == {hw.short_name(s) for s in specs}
    for row in table.values():  # a dearer launch needs more work to pay for it
        assert row[0] < row[1] < row[2]
    assert table == {hw.short_name(s): [hw.break_even_n((2e-6, 150.0), s, launch_s=t) for t in (1e-6, 1e-5, 1e-4)]
                     for s in specs}
