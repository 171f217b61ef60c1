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

# slow: each takes more than ~5 s on a 2-core CPU: trains for real, re-evaluates the committed results/ on the 10,000 test
# images, builds the docs, measures a large net, or starts a `cifar-adv` process that imports fastai. `make test` runs them,
# `make test-fast` (pytest -m "not slow") leaves them out. Whole modules by name; tests by module::name, or
# module::name[id] for one case of a parametrized test.
SLOW_MODULES = {'test_train', 'test_mixing', 'test_tune', 'test_results', 'test_reliability', 'test_inference', 'test_quant', 'test_readme'}
SLOW_TESTS = {
    'test_cli::test_bad_values_one_line_exit_2_nothing_written', 'test_cli::test_existing_out_dir_needs_force',
    'test_cli::test_data_verb', 'test_cli::test_fit_on_sample_writes_run', 'test_cli::test_lr_find_verb',
    'test_cli::test_archs_json_is_stable', 'test_cli::test_summary_verb',
    'test_models::test_rf_matches_gradient_measure[resnet18]', 'test_models::test_rf_matches_gradient_measure[advnet_dil]',
    'test_models::test_rf_matches_gradient_measure[seed003]', 'test_models::test_rf_matches_gradient_measure[seed004]',
    'test_models::test_arch_contract[resnet18]', 'test_models::test_arch_contract[seed004]',
    'test_bench::test_bench_script_help[reference]', 'test_bench::test_bench_missing_data',
    'test_docs::test_pages',
    'test_distributed::test_torchrun_two_processes_one_run_directory', 'test_distributed::test_sigkill_of_the_job_then_resume_under_torchrun',
    'test_distributed::test_two_nodes_on_loopback', 'test_device::test_resume_state_takes_a_ddp_checkpoint_onto_the_runs_device',
    'test_device::test_gpu_check_runs_every_step_in_cpu_smoke_mode', 'test_distributed::test_divergence_stops_every_process_with_one_message'}

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: over ~5 s on 2 cores: training, results/ re-evaluation, the docs, fresh cifar-adv processes (deselect with -m "not slow")')
    # third-party warnings raised while fastai is imported (not by our calls): fastai's layers use torch.jit.script,
    # fastai.tabular sets a pandas option that pandas 3 deprecates
    config.addinivalue_line('filterwarnings', r'ignore:`torch\.jit\.script` is deprecated:FutureWarning')
    config.addinivalue_line('filterwarnings', r"ignore:The 'mode.chained_assignment' option is deprecated")

def pytest_collection_modifyitems(config, items):
    modules = {}
    for item in items:
        mod = item.path.stem
        modules[mod] = getattr(item, 'module', None)
        if mod in SLOW_MODULES or {f'{mod}::{item.name}', f'{mod}::{getattr(item, "originalname", item.name)}'} & SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    # a renamed test must not quietly join the fast tier: each entry whose module was collected names a function in it
    stale = sorted(t for t in SLOW_TESTS if (m := modules.get(t.partition('::')[0])) is not None
                   and not hasattr(m, t.partition('::')[2].partition('[')[0]))
    if stale: raise pytest.UsageError(f"tests/conftest.py SLOW_TESTS names tests that do not exist: {', '.join(stale)}")

def _resolved(data) -> Path:
    "The dataset root through the app's own lookup (`data`, else fastai's cache, else its download); a bad path stops the run in one line."
    from cifar_adv.core import CifarAdvError
    from cifar_adv.data import resolve_data
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
