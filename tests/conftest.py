"""Test data, isolation and markers.

The data: the 300-image sample is committed (`examples/cifar10_sample/`, the first 20 training and 10 test images of each
class). The full set is `../shared/data/cifar10.tgz` beside the repo (or under `$CIFAR_ADV_SHARED/data/`) when it is there,
as in CI, and elsewhere comes through the app's own lookup (`$CIFAR_ADV_DATA`, fastai's cache, fastai's download).
"""
import os, sys, subprocess
from functools import cache
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('CIFAR_ADV_SHARED', ROOT.parent/'shared'))
SHARED_SAMPLE = SHARED/'data'/'cifar10_sample'
SAMPLE = ROOT/'examples'/'cifar10_sample'
SHARED_TGZ = SHARED/'data'/'cifar10.tgz'
USER_DATA = os.environ.get('CIFAR_ADV_DATA')                  # read before the isolation below removes it
CLI = Path(sys.executable).parent/'cifar-adv'                # the console script of the Python running the tests

# extracted archives and decoded arrays: reused between test runs, never in the user's home
os.environ.setdefault('CIFAR_ADV_CACHE', str(ROOT/'.cache'/'tests'))
os.environ['NO_ALBUMENTATIONS_UPDATE'] = '1'
for v in ('CIFAR_ADV_DATA', 'CIFAR_ADV_DEBUG'): os.environ.pop(v, None)

def pytest_addoption(parser):
    parser.addoption('--all-results', action='store_true',
                     help="re-score every committed run in results/ on the 10,000 test images (make verify-results), not only the default one")

def pytest_configure(config):
    # slow: a test or module marks itself (`@pytest.mark.slow`, `pytestmark = pytest.mark.slow`) when it takes more than ~5 s
    # on 2 cores: trains more than the sample for a few epochs, starts several processes, builds the docs. `make test` runs
    # them, `make test-fast` (pytest -m "not slow") leaves them out.
    config.addinivalue_line('markers', 'slow: over ~5 s on 2 cores: training beyond one sample run, torchrun, Ray Tune, the docs site, fresh processes by the dozen (deselect with -m "not slow")')
    config.addinivalue_line('markers', 'all_results: re-scores one more committed run in full; collected only with --all-results (make verify-results)')
    # third-party warnings raised while fastai is imported (not by our calls): fastai's layers use torch.jit.script,
    # fastai.tabular sets a pandas option that pandas 3 deprecates
    config.addinivalue_line('filterwarnings', r'ignore:`torch\.jit\.script` is deprecated:FutureWarning')
    config.addinivalue_line('filterwarnings', r"ignore:The 'mode.chained_assignment' option is deprecated")

def pytest_collection_modifyitems(config, items):
    "Without --all-results, the tests marked `all_results` are deselected (not skipped): CI re-scores the default run only."
    if config.getoption('--all-results'): return
    keep, drop = [], []
    for item in items: (drop if item.get_closest_marker('all_results') else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

def _resolved(data) -> Path:
    "The dataset root through the app's own lookup (`data`, else fastai's cache, else its download); a bad path stops the run in one line."
    from cifar_adv.core import CifarAdvError
    from cifar_adv.source import resolve_data
    try: return resolve_data(data)
    except CifarAdvError as e: pytest.exit(f"test data: {e}", returncode=4)
    except Exception as e: pytest.exit(f"test data: {type(e).__name__}: {e}", returncode=4)     # e.g. a failed download

@cache
def full_data() -> Path:
    "The full CIFAR-10 as `--data` takes it: the shared archive, else `$CIFAR_ADV_DATA` as given, else fastai's copy."
    if SHARED_TGZ.exists(): return SHARED_TGZ
    root = _resolved(USER_DATA)                               # checks (and extracts) what $CIFAR_ADV_DATA names
    return Path(USER_DATA).expanduser() if USER_DATA else root

@pytest.fixture(scope='session')
def sample(): return SAMPLE

@pytest.fixture(scope='session')
def tgz(): return full_data()

def cli_cmd(*args):
    "The command line that runs `cifar-adv` with `args`."
    return [str(CLI), *map(str, args)]

def run_cli(*args, cwd=None, env=None, timeout=600):
    "Run `cifar-adv` in a fresh process; returns the CompletedProcess."
    return subprocess.run(cli_cmd(*args), capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)

@pytest.fixture(scope='session')
def sample_run(tmp_path_factory, sample):
    """One run made once per session through the CLI and shared by the CLI, inference, device and train tests: `advnet_s`,
    2 epochs on the 200 sample training images (tested on its 100), batch 32, seed 1, no report; then exported to ONNX.
    Tests that change a run work on a copy (`shutil.copytree`)."""
    out = tmp_path_factory.mktemp('sample')/'run'
    r = run_cli('fit', '--arch', 'advnet_s', '--epochs', 2, '--bs', 32, '--data', sample, '--seed', 1, '--out', out, '--no_report')
    assert r.returncode == 0, r.stderr[-3000:]
    e = run_cli('export', out, '--format', 'onnx')
    assert e.returncode == 0 and 'onnxruntime matches PyTorch' in e.stdout, e.stderr[-3000:]
    out.parent.joinpath('fit.stdout').write_text(r.stdout); out.parent.joinpath('fit.stderr').write_text(r.stderr)
    return out

def call_cli(capsys, *args, cwd=None):
    """Run `cifar-adv args` in this process (`cli.main`), as `run_cli` does in a fresh one: a result with `returncode`,
    `stdout` and `stderr`. For refusals, `--help` and anything where a new process is not the point of the test."""
    from types import SimpleNamespace
    from fastcore.xtras import working_directory
    from cifar_adv.cli import main
    capsys.readouterr()                                          # what came before is not this command's
    with working_directory(cwd or os.getcwd()):
        try: code = main([str(a) for a in args])
        except SystemExit as e: code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    o, e = capsys.readouterr()
    return SimpleNamespace(returncode=code or 0, stdout=o, stderr=e)
