"""What each method of a named recipe buys: the recipe, and the recipe with one method changed, each scored on held-out training images (never the test set).

    python bench/ablate.py --only recipe random-flip --threads 1 --data ../shared/data/cifar10.tgz    # two variants
    python bench/ablate.py --data ../shared/data/cifar10.tgz                                      # all of them
    python bench/ablate.py --epochs 6 --only width0.5 advnet_fast --out bench/results/ablate_fast-6ep.json --data ../shared/data/cifar10.tgz
    python bench/ablate.py --epochs 4 --only recipe width0.7 --out bench/results/ablate_fast-4ep.json --data ../shared/data/cifar10.tgz
    python bench/ablate.py --epochs 4 --only airnet_lite airnet_lite-relu airnet_patch airnet_patch-relu --out bench/results/ablate_fast-4ep.json --data ../shared/data/cifar10.tgz
    python bench/ablate.py --epochs 60 --only width0.7 width0.7-aug96 --out bench/results/ablate_fast-60ep.json --data ../shared/data/cifar10.tgz
    python bench/ablate.py --epochs 60 --only width0.7+lr-x0.67 width0.7+muon-lr-x0.5 --threads 1 --out bench/results/ablate_fast-60ep.json --data ../shared/data/cifar10.tgz
    python bench/ablate.py --recipe quick --only small-size20 --threads 1 --data ../shared/data/cifar10.tgz     # a change to the quick recipe
    python bench/ablate.py --epochs 4 --only airnet_lite+small-size20 --threads 1 --out bench/results/ablate_fast-4ep.json --data ../shared/data/cifar10.tgz   # two variants, one after the other

Every variant trains with `fit_run` for the recipe's epochs on 45,000 training images and is scored with its final
weights on the 5,000 held out (`--valid holdout`, the same images in every run), plainly and with flip TTA beside it.
Each variant's row (its accuracy, its training seconds per epoch, the threads it had, the commit, marked +changes when the package or the benchmarks had uncommitted changes, and the command) is
merged into `--out` with the rows already there, so the variants can be run a few at a time. Accuracy does not depend
on the machine; seconds per epoch compare only between rows measured side by side (the same machine, load and threads).
The results docs' table of what each method buys is generated from `--out`.
"""
import json, os, platform, shlex, sys, time
from dataclasses import replace, asdict
from pathlib import Path
from _args import bench_parser
from _results import code_commit
from cifar_adv.core import RECIPES

bs128 = lambda x: dict(bs=128, lr=lambda r: round(r.lr / 2 * x, 6))   # batch 128 at x times the recipe's learning rate per image
VARIANTS = {      # name: (what changes, the changes to the recipe: a value, or a function of the recipe)
    'recipe': ('the recipe as named', {}),
    'seed1': ('the recipe as named with another seed (weights, shuffling and augmentation): the noise floor of this table', dict(seed=1)),
    'no-lookahead': ('lookahead off', dict(lookahead=False)),
    'no-whiten': ('whitened stem off (a trained 2x2 stem)', dict(whiten=False)),
    'bias-lr1': ("BatchNorm biases at the weights' learning rate", dict(bias_lr=1.0)),
    'one-cycle': ("fastai's one-cycle schedule instead of the triangle", dict(sched='one-cycle')),
    'ls0': ('no label smoothing', dict(label_smoothing=0.0)),
    'no-batch-aug': ('no batch augmentation', dict(batch_aug='none')),
    'item-aug': ("today's Albumentations preset (per image) instead of batch augmentation", dict(batch_aug='none', aug=RECIPES['default'].recipe.aug)),
    'random-flip': ('flips drawn at random instead of alternating by epoch', dict(batch_aug='translate-flip')),
    'lr-x1.5': ("the peak learning rate 1.5 times the recipe's", dict(lr=lambda r: round(r.lr * 1.5, 6))),
    'lr-x2': ("the peak learning rate twice the recipe's", dict(lr=lambda r: round(r.lr * 2, 6))),
    'lr-x0.67': ("the peak learning rate 2/3 of the recipe's", dict(lr=lambda r: round(r.lr / 1.5, 6))),
    'muon': ("the convolution filters stepped by Muon (orthogonalised Nesterov momentum) at the default muon_lr, the rest by Nesterov SGD", dict(opt='muon')),
    'muon-lr-x0.5': ("as muon, with the filters' learning rate halved", dict(opt='muon', muon_lr=lambda r: r.muon_lr / 2)),
    'muon-lr-x2': ("as muon, with the filters' learning rate doubled", dict(opt='muon', muon_lr=lambda r: r.muon_lr * 2)),
    'muon-seed1': ("as muon, with another seed", dict(opt='muon', seed=1)),
    'width0.5': ("airnet at half width (cheaper epochs: for the time to 85%)", dict(width=0.5)),
    'width0.7': ("airnet at 0.7 of its width, under 100k parameters (cheaper epochs: for the time to 85%)", dict(width=0.7)),
    'airnet_lite': ("airnet_lite, airnet with its first stage downsampling before its dense convolutions (cheaper epochs: for the time to 85%)", dict(arch='airnet_lite')),
    'airnet_lite-relu': ("as airnet_lite, with ReLU instead of GELU (cheaper still)", dict(arch='airnet_lite', act='relu')),
    'airnet_lite-bs128': ("as airnet_lite, at batch 128 with the learning rate halved (twice the steps)", dict(arch='airnet_lite', **bs128(1))),
    'airnet_lite-bs128-lr-x1.5': ("as airnet_lite-bs128, with its learning rate 1.5 times as high", dict(arch='airnet_lite', **bs128(1.5))),
    'airnet_lite-bs128-lr-x2': ("as airnet_lite-bs128, with its learning rate twice as high (the recipe's own lr at half the batch)", dict(arch='airnet_lite', **bs128(2))),
    'airnet_lite-bs128-lr-x3': ("as airnet_lite-bs128, with its learning rate three times as high", dict(arch='airnet_lite', **bs128(3))),
    'airnet_lite-bs64': ("as airnet_lite, at batch 64 with the learning rate a quarter (four times the steps)", dict(arch='airnet_lite', bs=64, lr=lambda r: r.lr / 4)),
    'airnet_lite-lr-x1.5': ("as airnet_lite, with the peak learning rate 1.5 times the recipe's", dict(arch='airnet_lite', lr=lambda r: round(r.lr * 1.5, 6))),
    'airnet_lite-small1': ("as airnet_lite, its first epoch on batches scaled down to 24x24 (progressive resizing: a cheaper epoch)", dict(arch='airnet_lite', small_epochs=1)),
    'airnet_lite-small2': ("as airnet_lite, its first two epochs on batches scaled down to 24x24 (progressive resizing)", dict(arch='airnet_lite', small_epochs=2)),
    'airnet_lite-bs128-lr-x1.5-small2': ("as airnet_lite-bs128-lr-x1.5, its first two epochs at 24x24 (progressive resizing)", dict(arch='airnet_lite', **bs128(1.5), small_epochs=2)),
    'airnet_lite-bs128-lr-x1.5-small3': ("as airnet_lite-bs128-lr-x1.5, its first three epochs at 24x24 (progressive resizing)", dict(arch='airnet_lite', **bs128(1.5), small_epochs=3)),
    'airnet-bs128-lr-x1.5-small3': ("airnet at batch 128 with 1.5 times the learning rate per image, its first three epochs at 24x24 (progressive resizing)", dict(**bs128(1.5), small_epochs=3)),
    'airnet_lite-bs128-lr-x1.5-small2-ls0.1': ("as airnet_lite-bs128-lr-x1.5-small2, with label smoothing 0.1", dict(arch='airnet_lite', **bs128(1.5), small_epochs=2, label_smoothing=0.1)),
    'small-size20': ("the small epochs' images at 20x20 instead of 24x24 (cheaper still)", dict(small_size=20)),
    'airnet_patch': ("airnet_patch, airnet whose whitened stem takes non-overlapping 2x2 patches (stride 2): nothing at 31x31 (cheaper epochs: for the time to 85%)", dict(arch='airnet_patch')),
    'airnet_patch-relu': ("as airnet_patch, with ReLU instead of GELU (cheaper still)", dict(arch='airnet_patch', act='relu')),
    'width0.7-aug96': ("as width0.7, with airbench96's batch augmentation for long runs: 4-pixel shifts, alternating flips and a 12x12 cutout", dict(width=0.7, batch_aug='translate4-altflip-cutout12')),
    'aug96': ("airbench96's batch augmentation for long runs: 4-pixel shifts, alternating flips and a 12x12 cutout", dict(batch_aug='translate4-altflip-cutout12')),
    'airnet8': ("airnet8, airnet whose last stage keeps the 8x8 map (no halving to 4x4): the same parameters, more computation (for long runs)", dict(arch='airnet8')),
    'airnet_res': ("airnet_res, airnet with each stage's second dense convolution a residual pair (airbench96's depth) at narrower widths: about the same parameters and cost (for long runs)", dict(arch='airnet_res')),
    'airnet_deep': ("airnet_deep, airnet with five more dense convolutions in residual pairs at narrower widths: about the same parameters and cost (for long runs)", dict(arch='airnet_deep')),
    'advnet_fast': ("advnet_fast, today's fastest Net to 85%, in place of airnet (no whitened stem: it has none)", dict(arch='advnet_fast', whiten=False)),
}
ap = bench_parser(__doc__, data=None, out=None)
ap.add_argument('--recipe', default='fast', choices=list(RECIPES), help=f"the named recipe: {', '.join(RECIPES)} (default: fast)")
ap.add_argument('--only', nargs='+', default=None, metavar='VARIANT',
                help=f"the variants to run (default: all), each one of these or several joined by '+' (their changes applied one after the other, e.g. airnet_lite+small-size20): {', '.join(VARIANTS)}")
ap.add_argument('--epochs', type=int, default=None, help="training epochs (default: the recipe's)")
ap.add_argument('--threads', type=int, default=None, help="torch and OpenCV threads (default: torch's own choice)")
a = ap.parse_args()
if a.threads is not None and a.threads < 1: sys.exit(f'ablate.py: error: --threads must be at least 1, got {a.threads}')

def variant(name:str) -> tuple:
    "What variant `name` changes, and its changes to the recipe: one of `VARIANTS`, or several joined by '+', applied in order."
    parts = name.split('+')
    bad = next((p for p in parts if p not in VARIANTS), None)
    if bad is not None: ap.error(f"unknown variant {bad!r} in {name!r}: choose from {', '.join(VARIANTS)}, or join several with '+'")
    return '; '.join(VARIANTS[p][0] for p in parts), [VARIANTS[p][1] for p in parts]

def apply(cfg, steps:list):
    "`cfg` with each step's changes applied in turn (a function of the recipe sees the recipe as the steps before left it)."
    for ch in steps: cfg = replace(cfg, **{k: v(cfg) if callable(v) else v for k, v in ch.items()})
    return cfg
todo = {name: variant(name) for name in a.only or VARIANTS}     # every name checked before anything trains

import cv2, torch
from cifar_adv.core import Machine, atomic_write_text
from cifar_adv.data import load_arrays
from cifar_adv.dls import valid_split
from cifar_adv.train import fit_run
from cifar_adv.inference import Predictor

if a.threads: torch.set_num_threads(a.threads); cv2.setNumThreads(a.threads)
base = RECIPES[a.recipe].recipe
base = replace(base, valid='holdout', epochs=a.epochs or base.epochs)
out = Path(a.out or f'bench/results/ablate_{a.recipe}.json')
held = valid_split(load_arrays(a.data), 'holdout')           # the held-out images, as the runs validate on them
commit = code_commit('cifar_adv', 'bench/*.py')                # the code that ran
if out.exists():                                              # rows of one recipe and one length only
    old = json.loads(out.read_text())
    if (old.get('recipe'), old.get('epochs')) != (a.recipe, base.epochs):
        ap.error(f"{out} holds rows of --recipe {old.get('recipe')} for {old.get('epochs')} epochs, not of {a.recipe} for {base.epochs}: pass another --out")
for name, (about, steps) in todo.items():
    cfg, run = apply(base, steps), Path('runs')/f'ablate-{a.recipe}-{name}'
    changes = {k: v for k, v in asdict(cfg).items() if v != getattr(base, k)}      # what the variant changed, as values
    t0 = time.time()
    m = fit_run(run, cfg, Machine(device='cpu'), data=a.data, force=True, command=shlex.join(['python'] + sys.argv))
    pred = Predictor.load(run)
    acc = {tta: float((pred.predict_proba(held.valid_x, bs=256, tta=tta).argmax(1) == held.valid_y).mean()) for tta in (False, True)}
    row = dict(about=about, changes=changes, holdout_accuracy=round(acc[False], 4), holdout_accuracy_tta=round(acc[True], 4),
               fit_accuracy=m['accuracy'], epoch_s=m['epoch_time_s'], fit_time_s=m['fit_time_s'], wall_s=round(time.time() - t0, 1),
               threads=torch.get_num_threads(), cpu_count=os.cpu_count(), params=m['params'], n_train=m['n_train'], n_holdout=m['n_valid'],
               commit=commit, date=time.strftime('%Y-%m-%d'), command=shlex.join(['python', 'bench/ablate.py', '--recipe', a.recipe, '--only', name] + (['--epochs', str(a.epochs)] if a.epochs else []) + (['--threads', str(a.threads)] if a.threads else []) + (['--out', str(out)] if a.out else [])))
    res = json.loads(out.read_text()) if out.exists() else {}    # re-read: another process may have added a row meanwhile
    res = dict(recipe=a.recipe, arch=base.arch, epochs=base.epochs, valid='holdout', torch=torch.__version__, python=platform.python_version(),
               variants={**res.get('variants', {}), name: row})
    atomic_write_text(out, json.dumps(res, indent=2) + '\n')
    print(f"{name}: held-out accuracy {acc[False]:.4f} ({acc[True]:.4f} with flip TTA), {m['epoch_time_s']} s per epoch", flush=True)
