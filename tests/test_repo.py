"The repository itself: light enough to travel to a GPU machine, and the committed runs' weights are the ones recorded."
import subprocess, sys
import pytest
from conftest import ROOT

MAX_MIB = 25        # a device run carries 64 MiB in all: the repo and tools/pack_gpu.py's pack (about 33 MiB)

def tracked_files() -> list:
    r = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True, text=True)
    if r.returncode: pytest.skip(f'not a git checkout: {r.stderr.strip()}')
    return [ROOT/f for f in r.stdout.split('\0') if f and (ROOT/f).is_file()]

def test_tracked_files_are_small():
    files = tracked_files()
    mib = sum(f.stat().st_size for f in files) / 2**20
    big = sorted(files, key=lambda f: -f.stat().st_size)[:3]
    assert mib < MAX_MIB, f"tracked files: {mib:.1f} MiB, over {MAX_MIB}; the largest: " + ', '.join(f'{f.relative_to(ROOT)}' for f in big)

sys.path.insert(0, str(ROOT/'bench'))             # bench/_results.py: the digests' one reader and writer
from _results import read_digests                  # noqa: E402
from cifar_adv.core import file_sha256             # noqa: E402

RUNS = sorted(p.parent.name for p in (ROOT/'results').glob('*/metrics.json'))

@pytest.mark.parametrize('run', RUNS)
def test_committed_weights_match_their_digest(run):
    "Every committed run has its weights' sha256 in results/SHA256SUMS; weights that are here match it, and weights that are not here are ignored by git on purpose."
    d = read_digests(ROOT/'results')
    assert run in d, f"results/SHA256SUMS has no line for {run}: run bench/_results.write_digests()"
    f = ROOT/'results'/run/'model.safetensors'
    if f.exists(): assert file_sha256(f) == d[run]
    else:
        r = subprocess.run(['git', 'check-ignore', '-q', str(f)], cwd=ROOT)
        assert r.returncode == 0, f"{f.relative_to(ROOT)} is missing and not in .gitignore"
    assert set(d) == set(RUNS)
