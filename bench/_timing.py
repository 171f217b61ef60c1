"Shared by the benchmark scripts: the median time of a step, after warm-up steps that pay for allocation (and compilation)."
import time

def median_s(step, n:int=10, warmup:int=2) -> float:
    "Median seconds of `n` calls of `step()`, after `warmup` untimed calls."
    for _ in range(warmup): step()
    times = []
    for _ in range(n):
        t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    return sorted(times)[n // 2]
