import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('CIFAR_ADV_SHARED', ROOT.parent/'shared'))
SAMPLE = SHARED/'data'/'cifar10_sample'
TGZ = SHARED/'data'/'cifar10.tgz'
CLI = Path(sys.executable).parent/'cifar-adv'                # the console script of the Python running the tests

# extracted archives and decoded arrays: reused between test runs, never in the user's home
os.environ.setdefault('CIFAR_ADV_CACHE', str(ROOT/'.cache'/'tests'))
os.environ['NO_ALBUMENTATIONS_UPDATE'] = '1'
for v in ('CIFAR_ADV_DATA', 'CIFAR_ADV_DEBUG'): os.environ.pop(v, None)

def pytest_configure(config):
    # third-party warnings raised while fastai is imported (not by our calls): fastai's layers use torch.jit.script,
    # fastai.tabular sets a pandas option that pandas 3 deprecates
    config.addinivalue_line('filterwarnings', r'ignore:`torch\.jit\.script` is deprecated:FutureWarning')
    config.addinivalue_line('filterwarnings', r"ignore:The 'mode.chained_assignment' option is deprecated")
    missing = [p for p in (SAMPLE, TGZ) if not p.exists()]
    if missing: raise pytest.UsageError(f"test data not found: {', '.join(map(str, missing))} (set CIFAR_ADV_SHARED)")

@pytest.fixture(scope='session')
def sample(): return SAMPLE

@pytest.fixture(scope='session')
def tgz(): return TGZ

def cli_cmd(*args):
    "The command line that runs `cifar-adv` with `args`."
    return [str(CLI), *map(str, args)]

def run_cli(*args, cwd=None, env=None, timeout=600):
    "Run `cifar-adv` in a fresh process; returns the CompletedProcess."
    return subprocess.run(cli_cmd(*args), capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)
