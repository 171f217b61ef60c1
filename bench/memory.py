"""Peak memory of `cifar-adv fit` on the full CIFAR-10 on the CPU, and resident memory after each epoch.

    python bench/memory.py [--data ../shared/data/cifar10.tgz] [--arch advnet] [--epochs 3]
    python bench/memory.py --recipe fast --arch airnet_res --width 0.7 --epochs 10 --out bench/results/memory-fast-airnet_res-w0.7-trim.json

Runs `cifar-adv fit` in a child process (a temporary run directory, no report) and reads the child's peak resident
set size from the kernel (`getrusage(RUSAGE_CHILDREN)`), the RSS after each epoch from the run's `timings.csv`,
and the peak the run itself recorded in `metrics.json`. While the fit runs it samples the child's RSS twice a second
(Linux `/proc`): the highest in each epoch (loading the data counts in the first; the end of the run, after the last
epoch, on its own), since the RSS after an epoch can be lower than the epoch's peak. Writes bench/results/memory.json (or `--out`), with the commit that ran.
The default recipe trains with the seeds' augmentation (`--aug seed`); a named recipe (`--recipe`) with its own.
"""
import csv, json, resource, shlex, tempfile, threading, time
from pathlib import Path
from _paths import DATA, CLI
from _args import bench_parser, run_cli
from _results import code_commit
from cifar_adv.core import RECIPES, atomic_write_text
from cifar_adv.checkpoint import rss_mb

ap = bench_parser(__doc__, data=DATA, arch='advnet', epochs=3, out='bench/results/memory.json')
ap.add_argument('--recipe', default='default', choices=list(RECIPES), help="the named recipe to fit (default: default, with the seeds' augmentation)")
ap.add_argument('--width', type=float, default=None, help="the arch's width multiplier (default: the arch's own)")
a = ap.parse_args()

def children_rss_mb() -> float:
    "The resident memory of this process's child processes, in MB (Linux `/proc`; 0 elsewhere)."
    try: pids = [pid for f in Path('/proc/self/task').glob('*/children') for pid in f.read_text().split()]
    except OSError: return 0.0                                  # a thread that ended meanwhile: the next sample counts
    return sum(rss_mb(pid) or 0 for pid in pids)

class EpochPeaks(threading.Thread):
    "Samples `children_rss_mb` every `every` seconds until stopped: `peaks` holds the highest of each epoch, as the run's `timings.csv` counts them, then of the end of the run."
    def __init__(self, timings:Path, every:float=0.5):
        super().__init__(daemon=True)
        self.timings, self.every, self.peaks, self.stop = timings, every, [0.0], threading.Event()
    def epochs_done(self) -> int:
        try: return max(0, len(self.timings.read_text().splitlines()) - 1)
        except OSError: return 0
    def run(self):
        while not self.stop.wait(self.every):
            while len(self.peaks) <= self.epochs_done(): self.peaks.append(0.0)    # an epoch ended: the next one starts
            self.peaks[-1] = max(self.peaks[-1], children_rss_mb())

fit_args = ['fit', *(['--aug', 'seed'] if a.recipe == 'default' else ['--recipe', a.recipe]), '--arch', a.arch, '--epochs', str(a.epochs),
            *(['--width', str(a.width)] if a.width else []), '--data', a.data, '--no_report']
commit = code_commit('cifar_adv')                 # the code that runs: read before the fit, which may take an hour
t0 = time.time()
with tempfile.TemporaryDirectory() as tmp:         # gone afterwards, a refused fit's too
    run = Path(tmp)/'run'
    sampler = EpochPeaks(run/'timings.csv'); sampler.start()
    run_cli([CLI, *fit_args, '--out', str(run)])  # --out: a temporary run
    sampler.stop.set(); sampler.join()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = list(csv.DictReader(open(run/'timings.csv')))
    m = json.loads((run/'metrics.json').read_text())
res = dict(command=shlex.join(['cifar-adv', *fit_args]), commit=commit, recipe=a.recipe, arch=a.arch, width=a.width, epochs=a.epochs, n_train=m['n_train'], n_valid=m['n_valid'],
           peak_rss_mb_kernel=round(peak), peak_rss_mb_run=m['peak_rss_mb'],
           rss_mb_after_epoch=[float(x['rss_mb']) for x in rows], seconds_per_epoch=[float(x['seconds']) for x in rows],
           peak_rss_mb_per_epoch=[round(v) for v in sampler.peaks[:len(rows)]], peak_rss_mb_after_fit=round(max(sampler.peaks[len(rows):], default=0)),
           wall_s=round(time.time() - t0, 1), target_mb=3072)
res['growth_mb_after_first_epoch'] = round(res['rss_mb_after_epoch'][-1] - res['rss_mb_after_epoch'][0], 1)
res['peak_growth_mb_from_second_epoch'] = res['peak_rss_mb_per_epoch'][-1] - res['peak_rss_mb_per_epoch'][min(1, a.epochs - 1)]   # the first epoch's peak includes loading the data
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
