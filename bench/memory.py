"""Peak memory of `cifar-adv fit` on the full CIFAR-10 on the CPU, and resident memory after each epoch.

    python bench/memory.py [--data ../shared/data/cifar10.tgz] [--arch advnet] [--epochs 3]

Runs `cifar-adv fit` in a child process (a temporary run directory, no report) and reads the child's peak resident
set size from the kernel (`getrusage(RUSAGE_CHILDREN)`), the RSS after each epoch from the run's `timings.csv`,
and the peak the run itself recorded in `metrics.json`. Writes bench/results/memory.json.
"""
import csv, json, resource, shlex, tempfile, time
from pathlib import Path
from _paths import DATA, CLI
from _args import bench_parser, run_cli
from cifar_adv.core import atomic_write_text

a = bench_parser(__doc__, data=DATA, arch='advnet', epochs=3, out='bench/results/memory.json').parse_args()

run = Path(tempfile.mkdtemp())/'run'
fit_args = ['fit', '--arch', a.arch, '--epochs', str(a.epochs), '--data', a.data, '--aug', 'seed', '--no_report']
t0 = time.time()
run_cli([CLI, *fit_args, '--out', str(run)])      # --out: a temporary run
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
rows = list(csv.DictReader(open(run/'timings.csv')))
m = json.loads((run/'metrics.json').read_text())
res = dict(command=shlex.join(['cifar-adv', *fit_args]), arch=a.arch, epochs=a.epochs, n_train=m['n_train'], n_valid=m['n_valid'],
           peak_rss_mb_kernel=round(peak), peak_rss_mb_run=m['peak_rss_mb'],
           rss_mb_after_epoch=[float(x['rss_mb']) for x in rows], seconds_per_epoch=[float(x['seconds']) for x in rows],
           wall_s=round(time.time() - t0, 1), target_mb=3072)
res['growth_mb_after_first_epoch'] = round(res['rss_mb_after_epoch'][-1] - res['rss_mb_after_epoch'][0], 1)
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
