"""Does bfloat16 autocast speed up training on this CPU? The model alone, float32 vs `torch.autocast('cpu', bfloat16)`.

    python bench/precision.py [--archs advnet advnet_s] [--out bench/results/precision.json]

Forward + backward + AdamW step of each arch on a random channels_last batch of 256, median of 10 timed steps after
3 warm-up steps, in float32 and under bfloat16 autocast (the CPU's AMX/AVX-512 BF16 path through oneDNN).
Writes images/s per arch and precision, and the bf16/fp32 ratio.
"""
import json, os, platform
from _args import bench_parser

a = bench_parser(__doc__, archs=['advnet', 'advnet_s'], bs=256, out='bench/results/precision.json').parse_args()

import torch                                          # after the arguments: `--help` and a bad option answer at once
from cifar_adv.core import atomic_write_text
from _timing import median_s, TrainStep
from cifar_adv.models import create_model

def img_s(arch:str, bf16:bool) -> int:
    torch.manual_seed(0)
    return round(a.bs / median_s(TrainStep(create_model(arch), a.bs, opt='adamw', bf16=bf16), n=10, warmup=3))

def _bf16_flags() -> list:
    "The CPU's bfloat16 instruction-set flags (Linux)."
    try: flags = next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split()
    except (OSError, StopIteration): return []
    return sorted(f for f in flags if 'bf16' in f)

res = dict(bs=a.bs, threads=torch.get_num_threads(), cpu_count=os.cpu_count(), torch=torch.__version__,
           python=platform.python_version(), cpu_bf16_flags=_bf16_flags(), img_s={})
for arch in a.archs:
    r = dict(fp32=img_s(arch, False), bf16_autocast=img_s(arch, True))
    r['bf16_over_fp32'] = round(r['bf16_autocast'] / r['fp32'], 2)
    res['img_s'][arch] = r
    print(arch, r, flush=True)
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
