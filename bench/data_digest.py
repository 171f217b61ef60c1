"""Record in each committed run's metrics.json the content key (`data_digest`) of the dataset it was trained and tested on.

    python bench/data_digest.py [--data ../shared/data/cifar10.tgz] [runs ...]

A run made by `fit` records `data_digest` itself (a hash of the class names, pixels and labels: `cifar_adv.data.data_digest`),
so that `evaluate`, `export` and `report` find an identical copy of its dataset on another machine by content, whatever
its path there. Runs committed before that recorded only the path of the machine that trained them. Each of them was
trained on the official CIFAR-10 and is re-scored on its 10,000 test images by `tests/test_results.py` (`make
verify-results`), so this script adds the digest of `--data` to every run in `results/` (or the runs named) that has
none, and leaves the other keys as they are. A second run changes nothing.
"""
import json
from _paths import DATA
from _args import bench_parser
from _results import result_runs
from cifar_adv.core import atomic_write_text, check

ap = bench_parser(__doc__, data=DATA)
ap.add_argument('runs', nargs='*')
a = ap.parse_args()

from cifar_adv.data import load_arrays
arrs = load_arrays(a.data)
check(len(arrs.valid_y) == 10_000 and len(arrs.classes) == 10, f"{a.data} is not the official CIFAR-10 (10,000 test images of 10 classes)")
for run in result_runs(a.runs):
    m = json.loads((run/'metrics.json').read_text())
    if m.get('data_digest'): continue
    check(m['n_valid'] == 10_000 and m['classes'] == arrs.classes, f"{run}: not a run tested on the official CIFAR-10 test set")
    atomic_write_text(run/'metrics.json', json.dumps(dict(m, data_digest=arrs.digest), indent=2) + '\n')
    print(f"{run}: data_digest {arrs.digest}")
