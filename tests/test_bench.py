"The benchmark scripts start: each one's imports resolve and its arguments parse (`--help`), without running the benchmark."
import subprocess, sys
from pathlib import Path
import pytest

BENCH = Path(__file__).resolve().parents[1]/'bench'
SCRIPTS = sorted(p for p in BENCH.glob('*.py') if not p.name.startswith('_'))

@pytest.mark.parametrize('script', SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_bench_script_help(script):
    r = subprocess.run([sys.executable, str(script), '--help'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('usage:') and '--' in r.stdout

def test_bench_paths():
    sys.path.insert(0, str(BENCH))
    try: import _paths
    finally: sys.path.remove(str(BENCH))
    from conftest import TGZ
    assert Path(_paths.DATA).resolve() == TGZ.resolve() and Path(_paths.CLI).name == 'cifar-adv' and Path(_paths.CLI).exists()
