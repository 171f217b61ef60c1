"""Re-check every reference run with the package's own `cifar-adv evaluate`, plain and with flip TTA.

    python bench/evaluate.py [--data ../shared/data/cifar10.tgz] [runs ...]

For each `results/<run>/` (or the runs named), runs `cifar-adv evaluate results/<run> --data DATA --json`, with and
without `--tta`, on the official 10,000-image test set, from the committed `model.safetensors`. Writes
`results/<run>/evaluate.json`: the two accuracies, the image count and the exact commands. The plain figure must equal
the run's own `metrics.json` accuracy (its final weights validated in fp32, also for a run trained in mixed precision)
to within one image; the script fails otherwise.
TTA is reported beside it, never instead of it.
"""
import json, sys, shlex
from _paths import DATA, CLI
from _args import bench_parser, run_cli
from _results import result_runs
from cifar_adv.core import atomic_write_text

ap = bench_parser(__doc__, data=DATA)
ap.add_argument('runs', nargs='*')
a = ap.parse_args()

for run in result_runs(a.runs):
    if not (run/'model.safetensors').exists():          # weights kept out of git (.gitignore): re-create them with run.json's command
        print(f"skipped {run}: no model.safetensors here (its sha256 is in results/SHA256SUMS; run.json's command re-creates it)")
        continue
    res = dict(run=run.name)
    for tta in (False, True):
        cmd = [CLI, 'evaluate', str(run), '--data', a.data, '--json'] + (['--tta'] if tta else [])
        r = json.loads(run_cli(cmd).stdout)
        res['accuracy_tta' if tta else 'accuracy'] = r['accuracy']
        res['command_tta' if tta else 'command'] = shlex.join(['cifar-adv'] + cmd[1:])
    res['n_images'] = r['n_images']
    m = json.loads((run/'metrics.json').read_text())
    if abs(m['accuracy'] - res['accuracy']) * res['n_images'] > 1:
        sys.exit(f"{run}: evaluate gives {res['accuracy']:.4f}, metrics.json says {m['accuracy']:.4f}")
    atomic_write_text(run/'evaluate.json', json.dumps(res, indent=2) + '\n')
    print(json.dumps(res))
