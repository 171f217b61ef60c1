"""Reference accuracy runs: train with the recipe (`cifar_adv.core.RECIPE`, or one change to it) on the full CIFAR-10 and record the results in `results/NAME/`.

    python bench/reference.py --arch advnet --epochs 15 --data ../shared/data/cifar10.tgz
    python bench/reference.py --arch advnet --epochs 15 --aug seed --p_affine 0 --data ../shared/data/cifar10.tgz   # an ablation
    python bench/reference.py --name advnet-60ep-flipcrop --resume     # finish a run a stop interrupted

Writes `results/NAME/` (default `<arch>-<epochs>ep`, with any change from the default recipe appended) with
`run.json`, `metrics.csv`, `timings.csv`, `metrics.json`, `model.safetensors`, `model.json` and the report's
`per_class.csv`, `confusion_matrix.csv`, `most_confused.csv` (copied from the run directory `runs/reference-NAME`).
Refuses to replace an existing `results/NAME` without `--force`. Then `python bench/evaluate.py results/NAME`
re-checks the weights with `cifar-adv evaluate`. The README's results table is generated from these files.
"""
import sys, shlex
from pathlib import Path
from cifar_adv.core import RECIPE
from cifar_adv.train import fit_run
from cifar_adv.augment import AUG_PRESETS
from cifar_adv.models import ACTS
from _results import save_result
from _args import bench_parser, add_common

PROBS = list(AUG_PRESETS[RECIPE.aug])                                # crop, flip, affine, dropout
LS, LR, BS, SEED = RECIPE.label_smoothing, RECIPE.lr, RECIPE.bs, RECIPE.seed

ap = bench_parser(__doc__)
ap.add_argument('--arch', default=RECIPE.arch, help=f"architecture (default: the recipe's, {RECIPE.arch})")
add_common(ap, epochs=15, data=None)
ap.add_argument('--seed', type=int, default=SEED)
ap.add_argument('--name', default=None, help='results/NAME (default: <arch>-<epochs>ep, plus any recipe change, e.g. -seed-affine0, -lr0.01, -bs128, -seed1, -silu)')
ap.add_argument('--aug', default=RECIPE.aug, help=f'augmentation preset (default: {RECIPE.aug})')
for k in PROBS:
    ap.add_argument(f'--p_{k}', type=float, default=None, help=f'probability of {k} (overrides the preset)')
ap.add_argument('--ls', type=float, default=LS, help='label smoothing')
add_common(ap, lr=LR, bs=BS)
ap.add_argument('--ema', type=float, default=RECIPE.ema, help="decay of the weights' moving average (0: off)")
ap.add_argument('--mixup', type=float, default=RECIPE.mixup, help="MixUp's alpha (0: off)")
ap.add_argument('--cutmix', type=float, default=RECIPE.cutmix, help="CutMix's alpha (0: off)")
ap.add_argument('--act', default=None, choices=list(ACTS), help="the arch's activation (default: the arch's own)")
ap.add_argument('--precision', default='auto', help="auto, fp32, fp16 or bf16 (bf16 also on a CPU with AMX or AVX-512 BF16: bench/precision.py); a resume takes this one, not the run's")
ap.add_argument('--threads', type=int, default=None, help="torch and OpenCV threads (default: torch's own choice)")
ap.add_argument('--force', action='store_true', help='replace an existing results/NAME')
ap.add_argument('--resume', action='store_true', help='finish an interrupted run (runs/reference-NAME) from its last epoch, with its own settings')
a = ap.parse_args()
if a.resume and a.name is None: sys.exit('reference.py: error: --resume needs --name (the run to finish, as in results/NAME)')
if a.threads is not None:
    if a.threads < 1: sys.exit(f'reference.py: error: --threads must be at least 1, got {a.threads}')
    import cv2, torch
    torch.set_num_threads(a.threads); cv2.setNumThreads(a.threads)
probs = {k: getattr(a, f'p_{k}') for k in PROBS if getattr(a, f'p_{k}') is not None}
name = a.name or (f'{a.arch}-{a.epochs}ep' + (f'-{a.aug}' if a.aug != RECIPE.aug else '')
                  + ''.join(f'-{k}{v:g}' for k, v in probs.items())
                  + ''.join(f'-{tag}{v:g}' for tag, v, d in (('ls', a.ls, LS), ('lr', a.lr, LR), ('bs', a.bs, BS), ('seed', a.seed, SEED),
                                               ('ema', a.ema, RECIPE.ema), ('mixup', a.mixup, RECIPE.mixup), ('cutmix', a.cutmix, RECIPE.cutmix)) if v != d)
                  + (f'-{a.act}' if a.act else ''))
dest = Path('results')/name
if dest.exists() and not a.force: sys.exit(f'reference.py: error: {dest} exists; choose another --name or pass --force')
run = Path('runs')/f'reference-{name}'
if a.resume: fit_run(run, resume=True, precision=a.precision)
else: fit_run(run, arch=a.arch, epochs=a.epochs, data=a.data, seed=a.seed, aug=a.aug, aug_probs=probs, label_smoothing=a.ls, lr=a.lr, bs=a.bs,
              ema=a.ema, mixup=a.mixup, cutmix=a.cutmix, precision=a.precision,
              arch_kwargs={'act': a.act} if a.act else None, force=True, command=shlex.join(['python'] + sys.argv))
save_result(run, name)
print(f'results in {dest}; next: python bench/evaluate.py {dest}')
