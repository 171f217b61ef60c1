"""What each training option of the recipe costs per epoch: weight EMA, MixUp, CutMix, side by side.

    python bench/tricks.py --data ../shared/data/cifar10.tgz [--arch advnet_hr] [--n_train 5120] [--rounds 3] [--out bench/results/tricks.json]

One fastai Learner per option (the recipe, `--ema 0.999`, `--mixup 0.2`, `--cutmix 1.0`), each trained for one epoch on the
same class-balanced `--n_train` training images with the recipe's augmentation and validated on 1,000 test images, as
`fit` does; the options take turns, round-robin (`--rounds`), so a busy moment on the machine hits all of them alike.
Writes each option's median epoch seconds and its ratio to the recipe's. What the options buy in accuracy is in the
results docs, from the committed runs.
"""
import json, os, platform, time
from _args import bench_parser

OPTIONS = {'recipe': {}, 'ema 0.999': dict(ema=0.999), 'mixup 0.2': dict(mixup=0.2), 'cutmix 1.0': dict(cutmix=1.0)}
ap = bench_parser(__doc__, data=None, arch=None, rounds=3, out='bench/results/tricks.json')
ap.add_argument('--n_train', type=int, default=5120, help='training images per epoch (default: 5120)')
a = ap.parse_args()

import torch                                       # after the arguments: `--help` and a bad option answer at once
from cifar_adv.core import RECIPE, atomic_write_text
from cifar_adv.data import load_arrays
from cifar_adv.dls import get_dls
from cifar_adv.learner import get_learner, seed_run
from cifar_adv.callbacks import mixing_cbs

arch = a.arch or RECIPE.arch
arrs = load_arrays(a.data)
dls = get_dls(arrs, bs=RECIPE.bs, n_train=a.n_train, n_valid=1000, seed=RECIPE.seed, device='cpu')   # one set of loaders for all
times = {k: [] for k in OPTIONS}
for r in range(a.rounds + 1):                      # round 0 warms every Learner up and is not counted
    for name, opts in OPTIONS.items():
        seed_run(RECIPE.seed, 'cpu')
        learn = get_learner(dls, arch)
        learn.remove_cb(learn.progress)
        t0 = time.perf_counter()
        learn.fit_one_cycle(1, RECIPE.lr, cbs=mixing_cbs(**opts))
        if r: times[name].append(time.perf_counter() - t0)
        print(f"round {r} {name}: {time.perf_counter() - t0:.1f} s", flush=True)
med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
res = dict(arch=arch, n_train=a.n_train, n_valid=1000, bs=RECIPE.bs, rounds=a.rounds, threads=torch.get_num_threads(),
           cpu_count=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
           command='python bench/tricks.py ' + ' '.join(f'--{k} {v}' for k, v in vars(a).items() if v is not None),
           epoch_s={k: round(v, 2) for k, v in med.items()}, vs_recipe={k: round(v / med['recipe'], 3) for k, v in med.items()},
           all_s={k: [round(t, 2) for t in v] for k, v in times.items()})
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps({k: res[k] for k in ('epoch_s', 'vs_recipe')}, indent=2))
