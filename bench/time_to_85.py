"""Time to 85%: the whole job as a user runs it, timed from outside, in fresh processes.

    python bench/time_to_85.py [--data ../shared/data/cifar10.tgz] [--arch advnet_fast] [--epochs 14] [--lr 0.01] [--ema 0.999] [--save NAME]
    python bench/time_to_85.py --recipe fast --out bench/results/time_to_85-fast.json     # a named recipe, as it stands
    python bench/time_to_85.py --recipe fast --epochs 4 --out bench/results/time_to_85-fast-4ep.json   # ... for fewer epochs
    python bench/time_to_85.py --recipe quick --seed 1 --out bench/results/time_to_85-quick-seed1.json   # ... another seed

Three commands, each in a fresh process, with the cache (`$CIFAR_ADV_CACHE`) in an empty temporary folder:
1. `cifar-adv data`: a machine's first use of the archive extracts it and decodes the 60,000 PNGs into the cache, once
   (as fastai's `untar_data` extracts once); timed as `first_use_s`.
2. `cifar-adv fit --no_report`: Python start-up, loading the decoded arrays, training, the pass over the official 10,000
   test images after every epoch, saving the weights, checkpoint and export (the report's plots and GradCAM are left out:
   they come after the 85% is reached); timed as `fit_wall_s`.
3. `cifar-adv evaluate --json`: re-checks the final weights on the same test set; timed as `eval_wall_s`.
The time to 85% is `total_s` = fit + evaluate; `total_first_use_s` adds the one-time extract and decode. The accuracy is
`evaluate`'s, from the final weights (no best-epoch pick, no TTA). `epochs_to_90`/`s_to_90`: the first epoch whose weights
score 90% on the test set, and the fit's seconds up to its end (None: not reached). Writes bench/results/time_to_85.json; `--save NAME`
also records the run in results/NAME (then run `python bench/evaluate.py results/NAME`). Run it on an otherwise idle
machine: its whole point is the clock. Each record names the CPU, the machine's boot and the date it was timed on (`cpu`, `boot`, `date`):
only records of one boot of one machine compare, and the results docs set a recipe against today's only then.
"""
import json, os, platform, shlex, tempfile, time
from pathlib import Path
from _paths import DATA, CLI
from _args import bench_parser, add_common, run_cli

ap = bench_parser(__doc__, data=DATA, arch='advnet_fast')
ap.add_argument('--epochs', type=int, default=None, help="training epochs (default: 14; with --recipe, the recipe's own)")
add_common(ap, lr=0.01, bs=256)
ap.add_argument('--target', type=float, default=0.85, help='test accuracy to reach')
ap.add_argument('--budget_min', type=float, default=10.0, help='wall-clock budget, minutes (default: 10, the target of issue 21)')
ap.add_argument('--ema', type=float, default=0.0, help="decay of the weights' moving average (fit --ema; default 0: off)")
ap.add_argument('--seed', type=int, default=None, help="fit --seed (default: the recipe's, 42): another seed of the same recipe")
ap.add_argument('--save', default=None, help='also record the run in results/SAVE')
ap.add_argument('--recipe', default=None, help="time `cifar-adv fit --recipe RECIPE` as it stands (its own arch, lr, batch size, and epochs unless --epochs is given), in place of the flags above")
a = add_common(ap, out='bench/results/time_to_85.json').parse_args()

from cifar_adv.core import atomic_write_text, check
check(Path(a.data).exists(), f'no dataset at {a.data}; pass --data')             # one line and exit 2 (bench_parser)
check(not (a.save and (Path('results')/a.save).exists()), f'results/{a.save} exists; choose another --save')
from _results import save_result

def timed(cmd, env) -> tuple[float, str]:
    "Run `cmd`; its wall time in seconds and its stdout. A failure stops the benchmark with the command's own error and status."
    t = time.perf_counter()
    r = run_cli(cmd, env=env)
    return time.perf_counter() - t, r.stdout

with tempfile.TemporaryDirectory() as tmp:
    env = {**os.environ, 'CIFAR_ADV_CACHE': str(Path(tmp)/'cache')}      # nothing extracted or decoded yet
    run = Path(tmp)/'run'
    first_s, _ = timed([CLI, 'data', '--data', a.data], env)
    if a.recipe: fit_args = ['fit', '--recipe', a.recipe, *(['--epochs', str(a.epochs)] if a.epochs else []), '--data', a.data, '--no_report']
    else: fit_args = ['fit', '--arch', a.arch, '--epochs', str(a.epochs or 14), '--lr', f'{a.lr:g}', '--bs', str(a.bs),
                      '--data', a.data, '--no_report'] + (['--ema', f'{a.ema:g}'] if a.ema else [])   # recorded as the command; --out names the temporary run
    fit_args += ['--seed', str(a.seed)] if a.seed is not None else []
    fit_s, _ = timed([CLI, *fit_args, '--out', str(run)], env)
    eval_s, out = timed([CLI, 'evaluate', str(run), '--data', a.data, '--json'], env)
    ev = json.loads(out)
    m = json.loads((run/'metrics.json').read_text())
    accs = [float(l.split(',')[3]) for l in (run/'metrics.csv').read_text().split()[1:]]
    secs = [float(l.split(',')[1]) for l in (run/'timings.csv').read_text().split()[1:]]
    to90 = next((i + 1 for i, v in enumerate(accs) if v >= 0.90), None)
    if a.save: save_result(run, a.save)

total = fit_s + eval_s
cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')), platform.processor()) \
      if Path('/proc/cpuinfo').exists() else platform.processor()
boot = Path('/proc/sys/kernel/random/boot_id')       # one machine, one boot: the records that compare
boot = boot.read_text().strip() if boot.exists() else None
from cifar_adv.results import TRICK_KEYS
res = dict(arch=m['arch'], params=m['params'], rf=m['rf'], epochs=m['epochs'], recipe=a.recipe, seed=m['seed'],
           **{k: m[k] for k in TRICK_KEYS},      # every training setting of the run, as its metrics.json records it
           epochs_to_90=to90, s_to_90=round(sum(secs[:to90]), 1) if to90 else None,
           threads=m['threads'], cpu_count=os.cpu_count(), cpu=cpu, boot=boot, date=time.strftime('%Y-%m-%d'),
           fit_command=shlex.join(['cifar-adv', *fit_args]), eval_command='cifar-adv evaluate RUN --data DATA --json',
           first_use_s=round(first_s, 1), fit_wall_s=round(fit_s, 1), fit_time_s=m['fit_time_s'], eval_wall_s=round(eval_s, 1),
           total_s=round(total, 1), total_first_use_s=round(first_s + total, 1),
           accuracy=ev['accuracy'], fit_accuracy=m['accuracy'], n_images=ev['n_images'],
           met=bool(ev['accuracy'] >= a.target and total <= 60 * a.budget_min), target=a.target, budget_min=a.budget_min,
           saved_as=a.save and f'results/{a.save}', versions={**m['versions'], 'python': platform.python_version()})
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
