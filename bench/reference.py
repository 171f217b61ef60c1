"""Reference accuracy runs: train with the recipe (`cifar_adv.core.RECIPE`, or one change to it) on the full CIFAR-10 and record the results in `results/NAME/`.

    python bench/reference.py --arch advnet --epochs 15 --data ../shared/data/cifar10.tgz
    python bench/reference.py --arch advnet --epochs 15 --aug seed --p_affine 0 --data ../shared/data/cifar10.tgz   # an ablation
    python bench/reference.py --name advnet-60ep-flipcrop --resume     # finish a run a stop interrupted
    python bench/reference.py --recipe fast --seed 2 --data ../shared/data/cifar10.tgz   # a named recipe: results/airnet-12ep-fast-seed2

Takes every `cifar-adv fit` setting (the fields of `Recipe` and `Machine`, as flags: `add_settings`), 15 epochs unless told.
Writes `results/NAME/` (default `<arch>-<epochs>ep`, with each change from the default recipe appended: `run_name`) with
`run.json`, `metrics.csv`, `timings.csv`, `metrics.json`, `model.safetensors`, `model.json` and the report's
`per_class.csv`, `confusion_matrix.csv`, `most_confused.csv` (copied from the run directory `runs/reference-NAME`).
Refuses to replace an existing `results/NAME` without `--force`. Then `python bench/evaluate.py results/NAME`
re-checks the weights with `cifar-adv evaluate`. The README's results table is generated from these files.
"""
import sys, shlex
from pathlib import Path
from cifar_adv.core import RECIPES, Recipe, Machine, settings_of, fields
from cifar_adv.cli import add_settings, named_recipe, recipe_defaults
from cifar_adv.train import fit_run
from _results import save_result
from _args import bench_parser, add_common

def run_name(cfg:Recipe, recipe:str='default') -> str:
    "`<arch>-<epochs>ep`, the named recipe unless `default`, then each setting that differs from that recipe's: a name's value (`-seed`, `-silu`), a switch's name (`-lookahead`, `-nolookahead`), or a number after its flag (`-ls0`, `-affine0`)."
    base, tags = RECIPES[recipe].recipe, [] if recipe == 'default' else [recipe]
    for f in fields(Recipe):
        v = getattr(cfg, f.name)
        if f.name in ('arch', 'epochs') or v == getattr(base, f.name): continue
        if isinstance(v, bool): tags.append(('' if v else 'no') + f.name)
        else: tags.append(v if isinstance(v, str) else f"{f.metadata.get('flag', f.name).removeprefix('p_')}{v:g}")
    return '-'.join([cfg.arch, f'{cfg.epochs}ep', *tags])

ap = bench_parser(__doc__)           # its one-line errors first: an unknown recipe is one
ap = add_settings(ap, defaults=recipe_defaults(named_recipe(sys.argv[1:]), dict(epochs=15)))   # a named recipe's values, else 15 epochs
ap.add_argument('--recipe', default='default', help=f"a named recipe whose values are the defaults: {', '.join(RECIPES)} (default: default, at 15 epochs)")
add_common(ap, data=None)
ap.add_argument('--name', default=None, help='results/NAME (default: `run_name`: <arch>-<epochs>ep, plus any recipe change, e.g. -seed-affine0, -lr0.01, -bs128, -seed1, -silu)')
ap.add_argument('--threads', type=int, default=None, help="torch and OpenCV threads (default: torch's own choice)")
ap.add_argument('--force', action='store_true', help='replace an existing results/NAME')
ap.add_argument('--resume', action='store_true', help="finish an interrupted run (runs/reference-NAME) from its last epoch, with its own settings (this command's machine)")
a = ap.parse_args()
if a.resume and a.name is None: sys.exit('reference.py: error: --resume needs --name (the run to finish, as in results/NAME)')
if a.threads is not None:
    if a.threads < 1: sys.exit(f'reference.py: error: --threads must be at least 1, got {a.threads}')
    import cv2, torch
    torch.set_num_threads(a.threads); cv2.setNumThreads(a.threads)
cfg, machine = Recipe(**settings_of(Recipe, vars(a))), Machine(**settings_of(Machine, vars(a)))
name = a.name or run_name(cfg, a.recipe)
dest = Path('results')/name
if dest.exists() and not a.force: sys.exit(f'reference.py: error: {dest} exists; choose another --name or pass --force')
run = Path('runs')/f'reference-{name}'
if a.resume: fit_run(run, machine=machine, resume=True)
else: fit_run(run, cfg, machine, data=a.data, force=True, command=shlex.join(['python'] + sys.argv))
from cifar_adv.report import make_report
make_report(run, device=machine.device)
save_result(run, name)
