"""Pack what bench/gpu_check.py needs on a GPU machine without network into gpu_pack/ (gitignored).

    python tools/pack_gpu.py [--data ../shared/data/cifar10.tgz] [--n-train 700] [--n-test 300] [--exclude NAME ...] [--carry-all]

The GPU machine has Python 3.12 and torch 2.11 (with its own dependencies), and lacks fastai, fastcore, albumentations
and the rest. This writes:
- gpu_pack/wheels/: every distribution that `import cifar_adv.train, .report, .cli, .inference` loads here, minus torch
  and torch's own dependencies, downloaded with `pip download --no-deps --python-version 3.12 --only-binary=:all:` for
  CPython 3.12 on manylinux x86_64 (binary wheels such as numpy, opencv-python-headless, albucore's stringzilla and
  simsimd for that platform; pure-Python ones as they are), at the versions installed here, except torchvision, which
  must match the GPU machine's torch (--torchvision); a pure-Python distribution published only as an sdist (grad-cam
  1.5.7, ttach) is built into a py3-none-any wheel here with `pip wheel --no-deps`;
- gpu_pack/cifar10_subset.tgz: the first --n-train training and --n-test test PNGs of each class of the real CIFAR-10
  archive, in its own layout (train/<class>/, test/<class>/), copied without decoding: `--data` takes it like the full set;
- gpu_pack/run.sh: installs, into gpu_pack/site (never over the machine's own packages), each wheel whose distribution
  the machine lacks, then runs `bench/gpu_check.py --data gpu_pack/cifar10_subset.tgz --out $OUT/gpu_check.json`;
- gpu_pack/manifest.json: the wheels, their sizes, which are binary, the subset's size.

The pack travels to the GPU machine as an ignored path (`run(carry=['gpu_pack'], command='sh gpu_pack/run.sh')`) beside
the repo's files (tracked, and untracked ones git does not ignore), 64 MiB in all: the script prints the total and fails when it is over --max-mib. The
distributions the machine's image holds (`GPU_IMAGE_HAS`: numpy, pandas, scipy, opencv-python-headless, pyarrow,
matplotlib, torchvision...) stay behind unless --carry-all; --exclude names more; --n-train/--n-test shrink the subset.
With the defaults: about 33 wheels (11 MiB) and 10,000 images (about 22 MiB); with the repo's files (under 25 MiB), under 60 MiB.
"""
import argparse, json, os, subprocess, sys, tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--data', default=str(Path(os.environ.get('CIFAR_ADV_SHARED', ROOT.parent/'shared'))/'data'/'cifar10.tgz'),
                help='the full CIFAR-10 archive (fastai layout)')
ap.add_argument('--out', default=str(ROOT/'gpu_pack'), help='the pack folder (default: gpu_pack/, gitignored)')
ap.add_argument('--n-train', type=int, default=700, help='training images per class (default 700: 7k in all)')
ap.add_argument('--n-test', type=int, default=300, help='test images per class (default 300: 3k in all)')
ap.add_argument('--torchvision', default='0.26.0', help="torchvision for the GPU machine's torch 2.11 (default 0.26.0)")
ap.add_argument('--exclude', nargs='*', default=[], help='more distributions the GPU machine has: not downloaded')
ap.add_argument('--carry-all', action='store_true', help="carry the distributions the GPU machine's image holds too (GPU_IMAGE_HAS)")
ap.add_argument('--max-mib', type=float, default=60, help="fail when the pack and the repo's files together are larger (default 60: what one run carries, 64, less a margin)")
ap.add_argument('--no-wheels', action='store_true', help='only the data subset and run.sh')
ap.add_argument('--list', action='store_true', help='print the distributions it would download and stop')
a = ap.parse_args()

# torch and what torch itself needs are on the GPU machine already
TORCH_OWN = {'torch', 'triton', 'sympy', 'mpmath', 'networkx', 'jinja2', 'markupsafe', 'fsspec', 'filelock', 'setuptools',
             'typing-extensions', 'typing_extensions', 'cifar-adv', 'pip'}
# what the GPU machine's image already holds (the device library's KINDS.md, nvidia-h200, as read on 2026-11-17): not carried
# unless --carry-all; run.sh installs a carried wheel only where the machine lacks the distribution anyway
GPU_IMAGE_HAS = set('''accelerate matplotlib numpy pandas pillow pyarrow scipy opencv-python-headless pyyaml safetensors onnx
onnxruntime onnxscript onnx-ir protobuf packaging requests urllib3 idna certifi charset-normalizer psutil tqdm rich pygments
markdown-it-py mdurl contourpy cycler fonttools kiwisolver pyparsing python-dateutil six tzdata scikit-learn joblib
threadpoolctl torchvision huggingface-hub attrs click cloudpickle msgpack typing-inspect mypy-extensions ml-dtypes
timm einops h5py imageio lazy-loader scikit-image tifffile'''.split())
PLATFORMS = ['manylinux_2_17_x86_64', 'manylinux2014_x86_64', 'manylinux_2_24_x86_64', 'manylinux_2_27_x86_64',
             'manylinux_2_28_x86_64', 'manylinux_2_31_x86_64', 'manylinux_2_34_x86_64', 'manylinux_2_35_x86_64']

PROBE = r'''
import json, sys, importlib.metadata as md
import cifar_adv.train, cifar_adv.report, cifar_adv.cli, cifar_adv.inference, cifar_adv.augment, fastai.distributed
import albumentations, pytorch_grad_cam
pd = md.packages_distributions()
out = {}
for m in {m.split('.')[0] for m in list(sys.modules)}:
    for d in pd.get(m, []):
        dist = md.distribution(d)
        out[dist.metadata['Name']] = dict(version=dist.version, binary=any(str(f).endswith(('.so', '.pyd')) for f in dist.files or []))
print(json.dumps(out))
'''

def needed() -> dict:
    "Distribution -> {version, binary}: what the package's modules import here, minus torch's own."
    r = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, cwd=ROOT, env={**os.environ, 'NO_ALBUMENTATIONS_UPDATE': '1'})
    if r.returncode: sys.exit(f"pack_gpu: importing the package failed:\n{r.stderr[-2000:]}")
    dists = json.loads(r.stdout.strip().splitlines()[-1])
    skip = TORCH_OWN | {e.lower() for e in a.exclude} | (set() if a.carry_all else GPU_IMAGE_HAS)
    norm = lambda n: n.lower().replace('_', '-')
    skip = {norm(n) for n in skip}
    dists = {k: v for k, v in dists.items() if norm(k) not in skip and not norm(k).startswith(('nvidia-', 'cuda-'))}
    if 'torchvision' in dists: dists['torchvision'] = dict(version=a.torchvision, binary=True)
    return dict(sorted(dists.items(), key=lambda kv: kv[0].lower()))

def download(dists:dict, dest:Path):
    "Each distribution's wheel for CPython 3.12 on manylinux x86_64; a pure-Python one published only as an sdist (grad-cam, ttach) is built into a wheel here."
    dest.mkdir(parents=True, exist_ok=True)
    plat = [x for p in PLATFORMS + ['any'] for x in ('--platform', p)]
    for k, v in dists.items():
        pin = f'{k}=={v["version"]}'
        r = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--python-version', '3.12', '--implementation', 'cp',
                            '--abi', 'cp312', '--abi', 'abi3', '--abi', 'none', '--only-binary=:all:', '--dest', str(dest), '-q',
                            *plat, pin], capture_output=True, text=True)
        if r.returncode and not v['binary']:
            r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--wheel-dir', str(dest), '-q', pin],
                               capture_output=True, text=True)
            how = 'built from its sdist'
        else: how = 'downloaded'
        if r.returncode: sys.exit(f"pack_gpu: no wheel of {pin} for CPython 3.12 manylinux x86_64: {r.stderr.strip().splitlines()[-1]}")
        print(f"{pin}: {how}", file=sys.stderr)

def subset(src:Path, dest:Path) -> dict:
    "The first n PNGs of each class of each split of `src` (sorted names), streamed into `dest` without decoding."
    per = {'train': a.n_train, 'test': a.n_test}
    with tarfile.open(src) as tf: members = [m for m in tf.getmembers() if m.isfile() and m.name.endswith('.png')]
    groups = {}
    for m in members:
        parts = m.name.split('/')
        if len(parts) >= 3 and parts[-3] in per: groups.setdefault((parts[-3], parts[-2]), []).append(m)
    keep = {m.name for (split, _), ms in groups.items() for m in sorted(ms, key=lambda m: m.name)[:per[split]]}
    tmp = dest.with_name(dest.name + '.part')
    n = 0
    with tarfile.open(src) as tf, tarfile.open(tmp, 'w:gz') as out:
        for m in tf:
            if m.name in keep:
                out.addfile(m, tf.extractfile(m)); n += 1
    tmp.replace(dest)
    return dict(images=n, classes=len({c for _, c in groups}), per_class=per, mib=round(dest.stat().st_size / 2**20, 1))

RUN_SH = '''#!/bin/sh
# On the GPU machine: install what it lacks into gpu_pack/site, then run the GPU check into $OUT (written by tools/pack_gpu.py).
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mkdir -p gpu_pack/site
for w in gpu_pack/wheels/*.whl; do
  [ -e "$w" ] || continue
  name=$(basename "$w" | cut -d- -f1)
  $PY -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$name" 2>/dev/null && continue
  $PY -m pip install -q --no-index --no-deps --target gpu_pack/site "$w"
done
export PYTHONPATH="$PWD/gpu_pack/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec timeout 540 $PY bench/gpu_check.py --data gpu_pack/cifar10_subset.tgz --out "${OUT:-gpu_pack}/gpu_check.json" "$@"
'''

out = Path(a.out)
dists = needed()
if a.list:
    for k, v in dists.items(): print(f"{k}=={v['version']}{'  (binary)' if v['binary'] else ''}")
    sys.exit(0)
out.mkdir(parents=True, exist_ok=True)
man = dict(python='3.12', platforms=PLATFORMS, excluded=sorted(TORCH_OWN | set(a.exclude) | (set() if a.carry_all else GPU_IMAGE_HAS)),
           distributions=dists)
if not a.no_wheels: download(dists, out/'wheels')
man['wheels'] = {w.name: round(w.stat().st_size / 2**20, 2) for w in sorted((out/'wheels').glob('*.whl'))}
man['subset'] = subset(Path(a.data), out/'cifar10_subset.tgz')
(out/'run.sh').write_text(RUN_SH); (out/'run.sh').chmod(0o755)
total = sum(f.stat().st_size for f in out.rglob('*') if f.is_file() and 'site' not in f.parts) / 2**20
# what a device run carries beside the pack: the tracked files and the untracked ones git does not ignore
tracked = sum((ROOT/f).stat().st_size for f in subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                                                              cwd=ROOT, capture_output=True, text=True).stdout.split('\0')
              if f and (ROOT/f).is_file()) / 2**20
man['total_mib'], man['repo_tracked_mib'] = round(total, 1), round(tracked, 1)
(out/'manifest.json').write_text(json.dumps(man, indent=2) + '\n')
print(f"{out}: {len(man['wheels'])} wheels ({sum(man['wheels'].values()):.1f} MiB), subset {man['subset']['images']:,} images "
      f"({man['subset']['mib']} MiB), {total:.1f} MiB in all; with the repo's tracked files ({tracked:.1f} MiB) {total + tracked:.1f} MiB travel")
if total + tracked > a.max_mib:
    big = sorted(man['wheels'].items(), key=lambda kv: -kv[1])[:6]
    sys.exit(f"pack_gpu: {total:.1f} MiB and the repo's {tracked:.1f} MiB are over --max-mib {a.max_mib:g}; the largest wheels: "
             + ', '.join(f'{k} {v} MiB' for k, v in big) + "; --exclude what the GPU machine has, or shrink --n-train/--n-test")
