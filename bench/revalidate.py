"""Validate in fp32 the final weights of committed runs trained in mixed precision before `fit` did so itself.

    python bench/revalidate.py [--data ../shared/data/cifar10.tgz] [runs ...]

Since `fit` validates a mixed-precision run's final weights once more in fp32 (`validate_fp32`), its `metrics.json`
`accuracy` and `valid_loss` are that pass, with its last autocast validation beside them (`accuracy_autocast`,
`valid_loss_autocast`, the last row of `metrics.csv`). A run recorded before then has its autocast figures as `accuracy`
and `valid_loss`: for each such run in `results/` (or the runs named), this loads the committed `model.safetensors`
with the run's own loss, validates it in fp32 on the run's test images and rewrites `metrics.json` as `fit` now would.
Runs trained in fp32, and runs already in the new form, are left as they are.
"""
import json
from _paths import DATA
from _args import bench_parser
from _results import result_runs
from cifar_adv.core import atomic_write_text
from cifar_adv.report import load_run, valid_dl
from cifar_adv.learner import validate_fp32

ap = bench_parser(__doc__, data=DATA)
ap.add_argument('runs', nargs='*')
a = ap.parse_args()

for run in result_runs(a.runs):
    m = json.loads((run/'metrics.json').read_text())
    if m.get('precision', 'fp32') == 'fp32' or 'accuracy_autocast' in m: continue
    learn, _ = load_run(run, device='cpu', data=a.data)
    loss, acc = validate_fp32(learn, valid_dl(learn))
    m.update(accuracy=acc, valid_loss=loss, accuracy_autocast=m['accuracy'], valid_loss_autocast=m['valid_loss'])
    atomic_write_text(run/'metrics.json', json.dumps(m, indent=2) + '\n')
    print(json.dumps(dict(run=run.name, **{k: m[k] for k in ('accuracy', 'valid_loss', 'accuracy_autocast', 'valid_loss_autocast')})))
