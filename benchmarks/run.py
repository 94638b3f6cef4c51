"""minigrad's benchmarks: time per training step against hand-written NumPy (and PyTorch).

    python benchmarks/run.py            # full run, a few minutes
    python benchmarks/run.py --quick    # about a minute
    python benchmarks/run.py --json out.json --workloads W2,W5 --no-torch

Prints one markdown table: for each workload (see workloads.py) and
implementation (numpy by hand, minigrad eager, the same minigrad step through
minigrad.compile, PyTorch), the median time of a training step (forward +
backward + SGD update) and its ratio to the NumPy reference measured in the same run; then
micro-benchmarks of the engine (one recorded op, a backward through a long
chain) and a peak-memory check. Implementations are timed in interleaved
rounds, each in its own block after a pause and a warm-up step, so a drift in
the machine's speed hits all of them alike. Exits non-zero when the
implementations' losses disagree from identical weights.
"""
import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import timeit
import tracemalloc
from collections import namedtuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads as wl  # noqa: E402

# Targets: minigrad's median step time over the NumPy reference's, per workload.
TARGETS = {"W1": 1.3, "W2": 1.2, "W3": 1.05, "W4": 1.05, "W5": 1.25}
# The same step compiled by minigrad.compile, over the same reference.
COMPILED_TARGETS = {"W1": 1.0, "W2": 1.0, "W3": 1.05, "W4": 1.05, "W5": 1.0}
ADD_TARGET = 2.5          # a recorded 4x4 add, over numpy's own 4x4 add
CHAIN_TARGET_NS = 1000.0  # backward through a 100,000-op chain, per node
MEMORY_TARGET = 1.10      # peak over all W3 steps, over the peak of the first 10

# How long to measure. Each workload runs `rounds` rounds (fewer, down to `min_rounds`, when
# a round would take an implementation past `seconds_per_impl`). `pause` (s) lets OpenBLAS's
# threads stop spinning, which they do for about 0.1 s after a call. `noise_budget` (s) caps
# the time spent waiting out other processes and re-timing what they disturbed.
SETTINGS = {
    "full": dict(rounds=21, min_rounds=9, seconds_per_impl=8.0, block_seconds=0.15,
                 warmup_seconds=0.3, pause=0.15, max_wait=1.0, noise_budget=90,
                 micro_rounds=21, chain_repeats=5, memory_steps=1000),
    "quick": dict(rounds=5, min_rounds=3, seconds_per_impl=1.5, block_seconds=0.04,
                  warmup_seconds=0.1, pause=0.15, max_wait=0.3, noise_budget=15,
                  micro_rounds=7, chain_repeats=2, memory_steps=200),
}


# ---------------------------------------------------------------------------
# Timing, shared by everything below
# ---------------------------------------------------------------------------

def _time_steps(step, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


class OtherLoad:
    """CPU time that other processes take while we run, from /proc/stat (Linux; elsewhere none).

    Other people's jobs share this machine's two cores, and a two-thread BLAS
    call slows down many times over when one of its threads waits for a core.
    `interleaved` therefore waits for quiet before a block and times a
    disturbed block again, spending at most `budget` seconds on it in all.
    Resolution: one clock tick (10 ms).
    """

    def __init__(self, budget):
        self.budget = budget
        self.tick = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
        self.available = os.path.exists("/proc/stat") and os.path.exists("/proc/self/stat")
        self.record = dict(blocks=0, retimed=0, kept_disturbed=0, waited_seconds=0.0,
                           other_cpu_seconds=0.0, timed_seconds=0.0)

    def _ticks(self):
        with open("/proc/stat") as f:
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        with open("/proc/self/stat") as f:
            mine = f.read().rsplit(")", 1)[1].split()   # utime and stime are fields 14 and 15
        return user + nice + system + irq + softirq + steal, int(mine[11]) + int(mine[12])

    def start(self):
        self._start = self._ticks() if self.available else None

    def stop(self):
        """Seconds of CPU that other processes used since `start()`."""
        if not self.available:
            return 0.0
        busy, mine = self._ticks()
        return max(0, (busy - self._start[0]) - (mine - self._start[1])) * self.tick

    def busy(self, others, seconds):
        """Whether others' `others` seconds of CPU in `seconds` of wall time disturbed us."""
        return others >= 2 * self.tick and others > seconds / 6

    def pause(self, seconds, max_wait):
        """Sleep `seconds`; then, while others are busy, on in steps of `seconds` (`max_wait` at most)."""
        waited = 0.0
        while True:
            self.start()
            time.sleep(seconds)
            if not self.busy(self.stop(), seconds) or waited >= max_wait or self.budget <= 0:
                self.record["waited_seconds"] += waited
                return
            waited += seconds
            self.budget -= seconds

    def timed_block(self, step, n):
        """Time `n` calls of `step`; returns the times and whether others disturbed them."""
        self.start()
        times = _time_steps(step, n)
        others = self.stop()
        self.record["other_cpu_seconds"] += others
        self.record["timed_seconds"] += sum(times)
        return times, self.busy(others, sum(times))


Block = namedtuple("Block", "times disturbed")   # one implementation's timed steps in one round


def interleaved(steps, settings, load, retries=2):
    """Time each callable of `steps` ({label: step}) in interleaved rounds.

    First each one is warmed up on its own for `warmup_seconds`, which also
    estimates its step time, and so how many steps fill a block of
    `block_seconds`. Then, each round, every implementation runs one block:
    a pause (longer while other processes are busy), one untimed warm-up
    step, then its steps timed one by one. The order rotates from round to
    round. A block that other processes disturbed is timed again, up to
    `retries` times. Returns {label: [a Block per round]}.
    """
    per_block, round_cost = {}, 0.0
    for label, step in steps.items():
        times = _time_steps(step, 2)
        while sum(times) < settings["warmup_seconds"]:
            times += _time_steps(step, 1)
        estimate = statistics.median(times[1:])
        per_block[label] = max(1, min(100_000, round(settings["block_seconds"] / estimate)))
        round_cost = max(round_cost, settings["pause"] + (per_block[label] + 1) * estimate)
    rounds = min(settings["rounds"],
                 max(settings["min_rounds"], int(settings["seconds_per_impl"] / round_cost)))
    blocks = {label: [] for label in steps}
    labels = list(steps)
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            for attempt in range(retries + 1):
                started = time.perf_counter()
                load.pause(settings["pause"], settings["max_wait"])
                steps[label]()   # warm-up
                times, disturbed = load.timed_block(steps[label], per_block[label])
                if not disturbed:
                    break
                if attempt == retries or load.budget <= 0:
                    load.record["kept_disturbed"] += 1
                    break
                load.record["retimed"] += 1
                load.budget -= time.perf_counter() - started
            load.record["blocks"] += 1
            blocks[label].append(Block(times, disturbed))
    return blocks


def keep_clean(items, disturbed):
    """The `items` not `disturbed` if at least a third of them (and 2) are; else all of them."""
    clean = [item for item, d in zip(items, disturbed) if not d]
    return clean if len(clean) >= max(2, len(items) // 3) else list(items)


def clean_times(blocks):
    """The step times of the blocks that `keep_clean` keeps."""
    return [t for b in keep_clean(blocks, [b.disturbed for b in blocks]) for t in b.times]


def summarize(values, scale=1e6):
    """Median and spread (percentiles 10, 25, 75, 90) of `values` times `scale` (s -> µs)."""
    a = np.asarray(values) * scale
    p10, p25, median, p75, p90 = np.percentile(a, [10, 25, 50, 75, 90])
    return dict(median=float(median), p10=float(p10), p25=float(p25), p75=float(p75),
                p90=float(p90), n=len(a))


def per_call_ns(stmts, namespace, settings, load):
    """ns per execution of each statement of `stmts` ({label: stmt}), timed by `interleaved`.

    Each timed "step" is one `timeit` loop of about 10 ms. The cyclic garbage
    collector stays on (timeit turns it off by default), as in a real program.
    """
    steps = {}
    for label, stmt in stmts.items():
        timer = timeit.Timer(stmt, setup="import gc; gc.enable()", globals=namespace)
        number, seconds = timer.autorange()   # also a warm-up
        number = max(1, int(0.01 * number / seconds))
        steps[label] = (lambda timer=timer, number=number: timer.timeit(number)), number
    micro = dict(settings, rounds=settings["micro_rounds"], min_rounds=settings["micro_rounds"],
                 block_seconds=0.05, warmup_seconds=0.02, pause=0.01)
    blocks = interleaved({label: step for label, (step, _) in steps.items()}, micro, load)
    return {label: summarize(np.asarray(clean_times(blocks[label])) / steps[label][1], 1e9)
            for label in stmts}


# ---------------------------------------------------------------------------
# The workloads
# ---------------------------------------------------------------------------

def check_losses(impls, n_steps=2):
    """Losses of each implementation's first `n_steps` steps, and their largest relative
    difference to numpy's."""
    losses = {impl.label: [impl.step() for _ in range(n_steps)] for impl in impls}
    reference = losses["numpy"]
    diffs = {label: max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(ls, reference))
             for label, ls in losses.items()}
    return losses, diffs


def run_workload(workload, classes, settings, load=None):
    """Check that the implementations agree, then time them. Returns per-implementation results."""
    load = load or OtherLoad(settings.get("noise_budget", 0))
    weights = workload.make_weights()
    X, Y = workload.make_data()
    impls = [cls(workload, weights, X, Y) for cls in classes]
    first_losses, diffs = check_losses(impls)
    blocks = interleaved({impl.label: impl.step for impl in impls}, settings, load)
    # Medians over the blocks that other processes left alone, when there are enough of them.
    samples = {label: clean_times(bs) for label, bs in blocks.items()}
    reference = statistics.median(samples["numpy"])
    results = {}
    for impl in impls:
        label = impl.label
        mine = blocks[label]
        rounds = list(zip(mine, blocks["numpy"]))
        rounds = keep_clean(rounds, [a.disturbed or b.disturbed for a, b in rounds])
        ratios = [statistics.median(a.times) / statistics.median(b.times) for a, b in rounds]
        results[label] = dict(
            **summarize(samples[label]), ratio=statistics.median(samples[label]) / reference,
            block_ratio=summarize(ratios, 1.0), first_losses=first_losses[label],
            loss_rel_diff=diffs[label], agree=diffs[label] <= workload.rtol,
            final_loss=impl.loss(), blocks=len(mine), disturbed_blocks=sum(b.disturbed for b in mine),
            clean_only=not any(b.disturbed for b in keep_clean(mine, [b.disturbed for b in mine])))
    return results


# ---------------------------------------------------------------------------
# Micro-benchmarks of the engine, and memory
# ---------------------------------------------------------------------------

def micro_ops(settings, load, use_torch):
    """ns of a 4x4 add (numpy; recorded in minigrad) and of forward + backward of a 4x4 multiply."""
    import minigrad as mg
    rng = np.random.default_rng(0)
    x, y, ones = rng.standard_normal((4, 4)), rng.standard_normal((4, 4)), np.ones((4, 4))
    ns = dict(x=x, y=y, ones=ones, a=mg.Tensor(x, requires_grad=True),
              b=mg.Tensor(y, requires_grad=True))
    add = {"numpy": "x + y", "minigrad": "a + b"}
    # numpy's row is the same arithmetic by hand: z = x*y, dx = g*y, dy = g*x.
    mul = {"numpy": "x * y; ones * y; ones * x",
           "minigrad": "a.grad = b.grad = None; (a * b).backward(ones)"}
    if use_torch:
        import torch
        ns.update(ta=torch.tensor(x, requires_grad=True), tb=torch.tensor(y, requires_grad=True),
                  tones=torch.ones(4, 4, dtype=torch.float64))
        add["torch"] = "ta + tb"
        mul["torch"] = "ta.grad = tb.grad = None; (ta * tb).backward(tones)"
    return per_call_ns(add, ns, settings, load), per_call_ns(mul, ns, settings, load)


def _chain(x, n):
    y = x
    for _ in range(n):
        y = y * 1.0001
    return y


def chain_backward(repeats, load, use_torch, n=100_000):
    """ns per node of `y.backward()`, y = x * 1.0001 * ... (n multiplications) of a scalar x."""
    import minigrad as mg
    makers = {"minigrad": lambda: mg.Tensor(1.0, requires_grad=True)}
    if use_torch:
        import torch
        makers["torch"] = lambda: torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    blocks = {label: [] for label in makers}
    for _ in range(repeats):
        for label, make in makers.items():
            x = make()
            y = _chain(x, n)
            gc.collect()
            load.pause(0.15, 1.0)
            times, disturbed = load.timed_block(y.backward, 1)
            blocks[label].append(Block(times, disturbed))
            if not abs(float(x.grad) / 1.0001 ** n - 1) < 1e-6:
                raise RuntimeError(f"{label}: wrong gradient through the chain: {float(x.grad)}, "
                                   f"expected 1.0001**{n} = {1.0001 ** n}")
            del x, y
    return {label: summarize(np.asarray(clean_times(b)) / n, 1e9) for label, b in blocks.items()}


def peak_memory(steps):
    """tracemalloc's peak over the first 10 W3 training steps, over the later ones, and over all
    `steps` of them (for the compiled step, the first calls trace: they run the eager step with
    the tracer's records alive; the later ones replay).

    Tracing starts before the model and the data are made, so the peaks count
    weights, data, gradients and every temporary that numpy or Python
    allocates (numpy reports its buffers to tracemalloc).
    """
    workload = wl.WORKLOADS["W3"]
    results = {}
    for cls in (wl.NumpyNet, wl.MinigradNet, wl.CompiledMinigradNet):
        gc.collect()
        tracemalloc.start()
        try:
            impl = cls(workload, workload.make_weights(), *workload.make_data())
            tracemalloc.reset_peak()
            for _ in range(10):
                impl.step()
            first_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            for _ in range(steps - 10):
                impl.step()
            last_current, later_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        last_peak = max(first_peak, later_peak)
        results[cls.label] = dict(steps=steps, first10_peak=first_peak, all_peak=last_peak,
                                  later_peak=later_peak, last_current=last_current,
                                  ratio=last_peak / first_peak)
        del impl
    return results


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

def machine_info(torch_version):
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:   # an older numpy has no dict form; the BLAS name is only a nicety
        blas = "unknown BLAS"
    info = dict(cpu=cpu, cores=cores, python=platform.python_version(), numpy=np.__version__,
                blas=blas, torch=torch_version, load_average=os.getloadavg())
    if torch_version:
        import torch
        info["torch_threads"] = torch.get_num_threads()
    return info


def format_machine(info):
    torch = (f"torch {info['torch']} ({info['torch_threads']} threads)" if info["torch"]
             else "torch not installed")
    load = ", ".join(f"{x:.2f}" for x in info["load_average"])
    return (f"Machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}, numpy "
            f"{info['numpy']} ({info['blas']}), {torch}; load average {load}")


def _us(us):
    return f"{us:,.0f} µs" if us >= 1000 else f"{us:.1f} µs"


def _ns(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 10_000 else f"{ns:,.0f} ns"


def _spread(r, fmt):
    return f"{fmt(r['p10'])} – {fmt(r['p90'])}"


def _goal(value, target, text):
    return [text, "met" if value <= target else "MISSED"]


HEADER = ["benchmark", "impl", "median", "spread (p10 – p90)", "ratio to numpy",
          "target", "met", "check"]


def table_rows(results):
    rows = []
    for name, res in results["workloads"].items():
        for label, r in res.items():
            ratio = f"{r['ratio']:.2f}x"
            if label != "numpy":   # the spread of the per-round ratios, in brackets
                ratio += f" ({r['block_ratio']['p10']:.2f}–{r['block_ratio']['p90']:.2f})"
            goal = ["", ""]
            if label == "minigrad" and name in TARGETS:
                goal = _goal(r["ratio"], TARGETS[name], f"≤ {TARGETS[name]}x")
            if label == "compiled" and name in COMPILED_TARGETS:
                goal = _goal(r["ratio"], COMPILED_TARGETS[name], f"≤ {COMPILED_TARGETS[name]}x")
            if label == "numpy":
                check = f"loss {r['first_losses'][0]:.4g} → {r['final_loss']:.4g}"
            else:
                check = f"{'agree' if r['agree'] else 'DISAGREE'} (rel {r['loss_rel_diff']:.0e})"
            rows.append([name, label, _us(r["median"]), _spread(r, _us), ratio, *goal, check])
    if "micro" in results:
        add, mul, chain = results["micro"]["add"], results["micro"]["mul"], results["micro"]["chain"]
        for label, r in add.items():
            ratio = r["median"] / add["numpy"]["median"]
            goal = _goal(ratio, ADD_TARGET, f"≤ {ADD_TARGET}x") if label == "minigrad" else ["", ""]
            rows.append(["4x4 add" + (", recorded" if label != "numpy" else ""), label, _ns(r["median"]),
                         _spread(r, _ns), f"{ratio:.2f}x", *goal, ""])
        for label, r in mul.items():
            ratio = r["median"] / mul["numpy"]["median"]
            rows.append(["4x4 mul, fwd + bwd", label, _ns(r["median"]), _spread(r, _ns),
                         f"{ratio:.2f}x", "", "",
                         "numpy by hand: x*y, g*y, g*x" if label == "numpy" else "backward(ones)"])
        for label, r in chain.items():
            goal = (_goal(r["median"], CHAIN_TARGET_NS, f"≤ {CHAIN_TARGET_NS:,.0f} ns")
                    if label == "minigrad" else ["", ""])
            rows.append(["backward, 100k-op chain", label, _ns(r["median"]) + "/node",
                         _spread(r, _ns), "", *goal, "y = y * 1.0001 (scalar); backward() only"])
    if "memory" in results:
        memory = results["memory"]
        for label, m in memory.items():
            goal = (_goal(m["ratio"], MEMORY_TARGET, f"≤ {MEMORY_TARGET:.2f}x of first 10")
                    if label == "minigrad" else ["", ""])
            if label == "compiled" and "minigrad" in memory:   # no more than eager's peak
                goal = _goal(m["all_peak"], memory["minigrad"]["all_peak"], "≤ minigrad's peak")
            rows.append([f"W3 peak memory, {m['steps']:,} steps", label,
                         f"{m['all_peak'] / 2**20:.2f} MiB",
                         f"first 10 steps: {m['first10_peak'] / 2**20:.2f} MiB",
                         f"{m['ratio']:.3f}x", *goal,
                         f"tracemalloc; {m['last_current'] / 2**20:.2f} MiB held at the end"
                         + (f"; after step 10: {m['later_peak'] / 2**20:.2f} MiB"
                            if label == "compiled" else "")])
    return rows


def format_table(rows):
    widths = [max(len(str(row[i])) for row in rows + [HEADER]) for i in range(len(HEADER))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(row) for row in rows])


def format_notes(results, load):
    s = results["settings"]
    rounds = ", ".join(f"{name} {res['numpy']['blocks']}" for name, res in results["workloads"].items())
    notes = [f"Workloads: median time per training step over interleaved rounds ({rounds}), each "
             f"block after a {s['pause'] * 1000:.0f} ms pause and a warm-up step; blocks that other "
             f"processes disturbed are left out when at least a third of the rounds are clean. "
             f"Ratio: median over numpy's median; in brackets the p10–p90 of the per-round ratios. "
             f"Check: numpy's loss at the first step → after all its steps; for the others, the "
             f"largest relative difference to numpy's loss over the first 2 steps from identical "
             f"weights."]
    rec = load.record
    if load.available and rec["blocks"]:
        share = rec["other_cpu_seconds"] / max(rec["timed_seconds"], 1e-9)
        notes.append(f"Machine noise: other processes used {share:.0%} of a core during the timed "
                     f"blocks; of {rec['blocks']} blocks, {rec['retimed']} were timed again after a "
                     f"disturbance and {rec['kept_disturbed']} kept disturbed; "
                     f"{rec['waited_seconds']:.0f} s spent waiting for quiet.")
        noisy = sorted({name for name, res in results["workloads"].items()
                        for r in res.values() if not r["clean_only"]})
        if noisy:
            notes.append(f"WARNING: too few undisturbed blocks in {', '.join(noisy)}: those medians "
                         "include disturbed blocks and are unreliable; run again on a quiet machine.")
    notes.append(f"Took {results['seconds']:.0f} s.")
    return "\n".join(notes)


# ---------------------------------------------------------------------------

def settle_allocator():
    """Free one large array first, so every implementation runs as in a process that has run a while.

    glibc's malloc gives a large buffer (over 128 KiB) fresh pages from the kernel,
    a page fault every 4 KiB, until the first such buffer is freed; then it raises
    that threshold and serves them from its heap. Without this, a fresh process would
    time W1's 7,000-row buffers mostly as page faults, and the result would depend on
    whether importing torch (which frees large buffers) came first.
    """
    big = np.ones(4 << 20, dtype=np.uint8)   # 4 MiB
    del big


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run, about a minute")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    parser.add_argument("--workloads", default=",".join(wl.WORKLOADS),
                        help="comma-separated subset, e.g. W2,W5 (default: all)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if installed")
    parser.add_argument("--fresh-malloc", action="store_true",
                        help="skip freeing a large array first: time in a fresh process's "
                             "allocator state (see settle_allocator)")
    parser.add_argument("--no-micro", action="store_true",
                        help="skip the micro-benchmarks and the memory check")
    args = parser.parse_args(argv)
    settings = SETTINGS["quick" if args.quick else "full"]
    names = [n.strip().upper() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in wl.WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(wl.WORKLOADS)}")

    if not args.fresh_malloc:
        settle_allocator()
    torch_version = None if args.no_torch else wl.torch_version()
    classes = [wl.NumpyNet, wl.MinigradNet, wl.CompiledMinigradNet] + (
        [wl.TorchNet] if torch_version else [])
    info = machine_info(torch_version)
    print(format_machine(info), flush=True)
    if not torch_version and not args.no_torch:
        print("PyTorch cannot be imported, so its rows are left out (`pip install torch==2.13.0`).")

    started = time.perf_counter()
    load = OtherLoad(settings["noise_budget"])
    results = {"machine": info, "mode": "quick" if args.quick else "full", "settings": settings,
               "workloads": {}}
    phases = results["phase_seconds"] = {}

    def phase(name, title, run):
        print(f"  {name}: {title} ...", end="", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        result = run()
        phases[name] = time.perf_counter() - t0
        print(f" {phases[name]:.0f} s", file=sys.stderr, flush=True)
        return result

    for name in names:
        workload = wl.WORKLOADS[name]
        results["workloads"][name] = phase(name, workload.title,
                                           lambda: run_workload(workload, classes, settings, load))
    if not args.no_micro:
        use_torch = bool(torch_version)
        add, mul = phase("ops", "4x4 add and multiply", lambda: micro_ops(settings, load, use_torch))
        chain = phase("chain", "backward through a 100,000-op chain",
                      lambda: chain_backward(settings["chain_repeats"], load, use_torch))
        results["micro"] = dict(add=add, mul=mul, chain=chain)
        results["memory"] = phase("memory", f"peak memory over {settings['memory_steps']} W3 steps",
                                  lambda: peak_memory(settings["memory_steps"]))
    results["seconds"] = time.perf_counter() - started
    results["noise"] = load.record

    print()
    print(format_table(table_rows(results)))
    print()
    print(format_notes(results, load))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"Raw numbers written to {args.json}.")

    bad = [f"{name}/{label} (relative difference {r['loss_rel_diff']:.1e})"
           for name, res in results["workloads"].items() for label, r in res.items()
           if not r["agree"]]
    if bad:
        print("ERROR: losses disagree with the numpy reference from identical weights: "
              + ", ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
