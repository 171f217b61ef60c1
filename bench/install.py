"""The README's install, timed as a newcomer meets it: `make install` (what `make fit` needs) then `make dev` (what `make test` adds).

    python bench/install.py [--out bench/results/install.json]

Clones this repository's HEAD into a temporary folder and runs, there, `make install` (torch, then the package: what
training needs) and then `make dev` (the dev tools and the tune extra), timing each and measuring the virtual
environment's size on disk after each. pip's own cache is used as a newcomer's second install would find it: the
figures are this machine's, where torch comes from a local wheel store; a first install elsewhere also downloads torch
(the CUDA build is several GB; `make install TORCH_INDEX=...` takes PyTorch's CPU-only wheels). Writes
bench/results/install.json.
"""
import json, os, platform, subprocess, tempfile, time
from pathlib import Path
from _args import bench_parser, run_cli

ROOT = Path(__file__).resolve().parents[1]
ap = bench_parser(__doc__, out='bench/results/install.json')
a = ap.parse_args()

from cifar_adv.core import atomic_write_text

def size_mib(d:Path) -> float:
    "Disk usage of the folder `d` in MiB (`du`, so hard links and sparse files count as the disk sees them)."
    return round(int(subprocess.run(['du', '-sk', str(d)], capture_output=True, text=True, check=True).stdout.split()[0]) / 1024, 1)

res = dict(commit=subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip())
with tempfile.TemporaryDirectory() as d:
    clone = Path(d)/'cifar-adv'
    run_cli(['git', 'clone', '-q', str(ROOT), str(clone)])
    for target in ('install', 'dev'):
        t = time.perf_counter()
        run_cli(['make', '-C', str(clone), target], env={k: v for k, v in os.environ.items() if k != 'VIRTUAL_ENV'})
        res[f'{target}_s'] = round(time.perf_counter() - t, 1)
        res[f'{target}_env_mib'] = size_mib(clone/'.venv')
res.update(python=platform.python_version(), cpu_count=os.cpu_count(), machine=platform.machine(),
           torch_from='the local wheel store (pip install torch==2.14.1 torchvision==0.29.1)')
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
