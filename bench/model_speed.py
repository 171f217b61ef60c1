"""Training throughput of the model alone: which layout, which pooling, which arch.

    python bench/model_speed.py [--archs advnet advnet_hr advnet_fast advnet_s] [--out bench/results/model_speed.json]

Forward + backward + SGD step of each arch on a random batch of 256, in three forms: the package's model in channels_last (what `get_learner` trains), the same model with
`nn.AdaptiveAvgPool2d(1)` in place of `GlobalAvgPool` (the head before the change; same outputs, NCHW gradients),
and the package's model in the default NCHW layout (what a plain loop trains). The forms are timed round-robin (`--rounds`,
each the median of 4 steps after warm-up), so a slow moment on the machine hits all of them alike; each figure is
the median round. Writes images/s per arch and form.
"""
import json, os, platform
from _args import bench_parser

a = bench_parser(__doc__, archs=['advnet', 'advnet_hr', 'advnet_fast', 'advnet_s'], bs=256, rounds=5,
                 out='bench/results/model_speed.json').parse_args()

import torch                                          # after the arguments: `--help` and a bad option answer at once
from torch import nn
from cifar_adv.core import atomic_write_text
from _timing import median_s, TrainStep
from cifar_adv.models import create_model, GlobalAvgPool

FORMS = {'channels_last': (True, False), 'channels_last_adaptive_pool': (True, True), 'nchw': (False, False)}

def make_step(arch:str, channels_last:bool, adaptive_pool:bool):
    torch.manual_seed(0)
    m = create_model(arch)
    if adaptive_pool:
        for mod in m.modules():
            for k, c in mod.named_children():
                if isinstance(c, GlobalAvgPool): setattr(mod, k, nn.AdaptiveAvgPool2d(1))
    return TrainStep(m, a.bs, channels_last=channels_last)

steps = {(arch, form): make_step(arch, *FORMS[form]) for arch in a.archs for form in FORMS}
times = {k: [] for k in steps}
for r in range(a.rounds):
    for k, step in steps.items(): times[k].append(median_s(step, n=4, warmup=3 if r == 0 else 1))
res = dict(bs=a.bs, threads=torch.get_num_threads(), cpu_count=os.cpu_count(), torch=torch.__version__,
           python=platform.python_version(), rounds=a.rounds, img_s={})
for arch in a.archs:
    r = {form: round(a.bs / sorted(times[arch, form])[a.rounds // 2]) for form in FORMS}
    r['global_avg_pool_gain'] = round(r['channels_last'] / r['channels_last_adaptive_pool'], 2)
    r['channels_last_gain'] = round(r['channels_last'] / r['nchw'], 2)
    res['img_s'][arch] = r
    print(arch, r, flush=True)
base = res['img_s'].get('advnet', {}).get('channels_last')
for arch, r in res['img_s'].items():
    if base: r['vs_advnet'] = round(r['channels_last'] / base, 2)
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
