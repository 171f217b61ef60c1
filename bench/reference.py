"""Reference accuracy runs: train with `cifar-adv`'s defaults on the full CIFAR-10 and record the results in `results/NAME/`.

    python bench/reference.py --arch advnet --epochs 15 --data ../shared/data/cifar10.tgz

Writes `results/<arch>-<epochs>ep/` with `metrics.csv`, `metrics.json`, `model.safetensors` and `model.json`
and the report's `per_class.csv`, `confusion_matrix.csv`, `most_confused.csv`
(copied from the run directory in `runs/`). The README's results table is generated from these files.
"""
import argparse, shutil, sys, shlex
from pathlib import Path
from cifar_adv.train import fit_run

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--arch', default='advnet')
ap.add_argument('--epochs', type=int, default=15)
ap.add_argument('--data', default=None)
ap.add_argument('--seed', type=int, default=42)
ap.add_argument('--name', default=None, help='results/NAME (default: <arch>-<epochs>ep)')
ap.add_argument('--aug', default='seed', help='augmentation preset')
for k in ('crop', 'flip', 'affine', 'dropout'):
    ap.add_argument(f'--p_{k}', type=float, default=None, help=f'probability of {k} (overrides the preset)')
ap.add_argument('--ls', type=float, default=0.1, help='label smoothing')
ap.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
a = ap.parse_args()
if a.threads:
    import torch; torch.set_num_threads(a.threads)
name = a.name or f'{a.arch}-{a.epochs}ep'
run = Path('runs')/f'reference-{name}'
probs = {k: getattr(a, f'p_{k}') for k in ('crop', 'flip', 'affine', 'dropout') if getattr(a, f'p_{k}') is not None}
fit_run(run, arch=a.arch, epochs=a.epochs, data=a.data, seed=a.seed, aug=a.aug, aug_probs=probs, label_smoothing=a.ls,
        force=True, command=shlex.join(['python'] + sys.argv))
dest = Path('results')/name
dest.mkdir(parents=True, exist_ok=True)
for f in ('run.json', 'metrics.csv', 'timings.csv', 'metrics.json', 'model.safetensors', 'model.json'): shutil.copy(run/f, dest/f)
for f in ('per_class.csv', 'confusion_matrix.csv', 'most_confused.csv'):      # the run report's numbers
    if (run/'report'/f).exists(): shutil.copy(run/'report'/f, dest/f)
print(f'results in {dest}')
