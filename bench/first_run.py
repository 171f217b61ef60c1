"""The README's first run, timed as a newcomer meets it: `cifar-adv fit --epochs 2 --n_train 10000 --data DATA`.

    python bench/first_run.py [--data ../shared/data/cifar10.tgz]

One fresh process with an empty cache, so the time includes extracting the archive and decoding its 60,000 images (once
per machine), training 2 epochs on 10,000 images, testing on the 10,000 test images after each, exporting and the run
report. Writes bench/results/first_run.json.
"""
import json, os, platform, shlex, tempfile, time
from pathlib import Path
from _paths import DATA, CLI
from _args import bench_parser, run_cli

ap = bench_parser(__doc__, data=DATA, out='bench/results/first_run.json')
a = ap.parse_args()

from cifar_adv.core import atomic_write_text

load_before = os.getloadavg()[0]       # other work sharing the cores slows the run: recorded beside it
with tempfile.TemporaryDirectory() as d:
    cmd = ['cifar-adv', 'fit', '--epochs', '2', '--n_train', '10000', '--data', str(a.data)]
    t = time.perf_counter()
    run_cli([CLI, *cmd[1:], '--out', str(Path(d)/'run')], env={**os.environ, 'CIFAR_ADV_CACHE': str(Path(d)/'cache')})
    wall = time.perf_counter() - t
    m = json.loads((Path(d)/'run'/'metrics.json').read_text())
res = dict(command=shlex.join(cmd), wall_s=round(wall, 1), fit_time_s=m['fit_time_s'], accuracy=m['accuracy'],
           arch=m['arch'], epochs=m['epochs'], n_train=m['n_train'], n_valid=m['n_valid'], threads=m['threads'],
           cpu_count=os.cpu_count(), load_avg_1min_before=round(load_before, 2), machine=platform.machine())
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
