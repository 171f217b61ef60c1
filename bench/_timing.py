"Shared by the benchmark scripts: the median time of a step, and the model-alone training step they time."
import time
import torch

def median_s(step, n:int=10, warmup:int=2) -> float:
    "Median seconds of `n` calls of `step()`, after `warmup` untimed calls that pay for allocation (and compilation)."
    for _ in range(warmup): step()
    times = []
    for _ in range(n):
        t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    return sorted(times)[n // 2]

class TrainStep:
    "One training step of `model` (forward, cross-entropy, backward, optimizer step) on a fixed random batch `x`, `y`: the model alone, no data pipeline."
    def __init__(self, model, bs:int=256, channels_last:bool=True, opt:str='sgd', bf16:bool=False, compile:bool=False, n_out:int=10):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(memory_format=fmt)
        self.opt = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if opt == 'sgd'
                    else torch.optim.AdamW(model.parameters(), 1e-3))
        self.x = torch.randn(bs, 3, 32, 32).contiguous(memory_format=fmt)
        self.y = torch.randint(0, n_out, (bs,))
        self.f, self.bf16 = torch.compile(self.model) if compile else self.model, bf16
    def __call__(self):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.bf16):
            loss = torch.nn.functional.cross_entropy(self.f(self.x), self.y)
        self.opt.zero_grad(); loss.backward(); self.opt.step()
