"""CI as it runs on a submission, timed: `bash .ci/run` in a fresh clone of HEAD with the shared folder beside it.

    python bench/ci.py [--shared ../shared] [--out bench/results/ci.json]

Clones this repository's HEAD into a temporary folder, links `shared` (the real CIFAR-10 and its sample) beside the
clone as CI lays it, runs `bash .ci/run` there with CI=true, and records its exit status, its wall time, the time of
each step it prints (install, check, lint, the docs site, pytest) and pytest's closing line. The target is 15 minutes
on an idle 2-core machine: other work on the cores (a training run) slows it, so the 1-minute load average before
the start is recorded beside it. Writes bench/results/ci.json; exits with .ci/run's status.
"""
import json, os, platform, re, subprocess, sys, tempfile, time
from pathlib import Path
from _args import bench_parser, run_cli

ROOT = Path(__file__).resolve().parents[1]
ap = bench_parser(__doc__, out='bench/results/ci.json')
ap.add_argument('--shared', default=os.environ.get('CIFAR_ADV_SHARED', str(ROOT.parent/'shared')),
                help='the shared folder CI lays beside the clone (default: $CIFAR_ADV_SHARED, else ../shared)')
ap.add_argument('--log', default=None, help='also keep .ci/run\'s output in this file')
a = ap.parse_args()

from cifar_adv.core import atomic_write_text, check

check(Path(a.shared, 'data', 'cifar10.tgz').is_file(), f"no {a.shared}/data/cifar10.tgz: pass --shared, the folder CI lays beside the clone")
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
load_before = os.getloadavg()[0]
with tempfile.TemporaryDirectory() as d:
    run_cli(['git', 'clone', '-q', str(ROOT), f'{d}/repo'])
    os.symlink(Path(a.shared).resolve(), f'{d}/shared')
    env = {k: v for k, v in os.environ.items() if k not in ('VIRTUAL_ENV', 'CIFAR_ADV_SHARED', 'CIFAR_ADV_DATA', 'CIFAR_ADV_CACHE')}
    t = time.perf_counter()
    p = subprocess.run(['bash', '.ci/run'], cwd=f'{d}/repo', env={**env, 'CI': 'true'}, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t
if a.log: Path(a.log).write_text(p.stdout)
closing = [l for l in p.stdout.splitlines() if re.search(r'\d+ (passed|failed)', l)]
steps = {m[1]: int(m[2]) for m in re.finditer(r'^ci: (\S+) took (\d+) s$', p.stdout, re.M)}
res = dict(commit=commit, returncode=p.returncode, wall_s=round(wall, 1), steps_s=steps, pytest=closing,
           load_avg_1min_before=round(load_before, 2), cpu_count=os.cpu_count(), machine=platform.machine())
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
if p.returncode: print(p.stdout[-3000:], file=sys.stderr)
sys.exit(p.returncode)
