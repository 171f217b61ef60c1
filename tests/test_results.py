"""The committed reference results: every run's record is self-consistent (metadata, parameter count, per-class figures),
and its safe weights, re-scored here on the official test set, give the accuracy it reports.

CI re-scores the default recipe's run in full, plain and with flip TTA; `make verify-results` (pytest --all-results)
re-scores every committed run, and is the check to run whenever `results/` changes. The weights' digests are checked in
`test_repo.py`."""
import json
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from cifar_adv.core import RECIPE
from cifar_adv.models import create_model, n_params

ROOT = Path(__file__).resolve().parents[1]
RESULTS = sorted(p.parent for p in (ROOT/'results').glob('*/metrics.json'))
DEFAULT_RUN = f'{RECIPE.arch}-{RECIPE.epochs}ep'          # the default recipe, trained as the README's first command would

def test_the_default_run_is_committed():
    assert DEFAULT_RUN in [r.name for r in RESULTS]

@pytest.mark.parametrize('res', RESULTS, ids=[r.name for r in RESULTS])
def test_record_is_consistent(res):
    "metrics.json, metrics.csv, per_class.csv, model.json and the arch agree; no weights are loaded."
    m = json.loads((res/'metrics.json').read_text())
    meta = json.loads((res/'model.json').read_text())
    assert meta['arch'] == m['arch'] and m['n_valid'] == 10_000 and meta['classes'] == m['classes']
    model = create_model(meta['arch'], n_out=len(meta['classes']), **meta['arch_kwargs'])
    assert n_params(model) == m['params']
    if (res/'model.safetensors').exists(): assert (res/'model.safetensors').stat().st_size < 4 * m['params'] + 100_000   # fp32 weights, BatchNorm buffers
    csv = pd.read_csv(res/'metrics.csv')
    # the last epoch's validation; a run trained in mixed precision ran it under autocast, and its `accuracy` is the fp32 pass after
    assert len(csv) == m['epochs'] and csv.accuracy.iloc[-1] == pytest.approx(m.get('accuracy_autocast', m['accuracy']))
    assert ('accuracy_autocast' in m) == (m.get('precision', 'fp32') != 'fp32')
    if (res/'per_class.csv').exists():
        per = pd.read_csv(res/'per_class.csv')
        assert per.support.sum() == 10_000 and (per.recall * per.support).sum() / 10_000 == pytest.approx(m['accuracy'], abs=1e-6)
    if (res/'evaluate.json').exists():                                    # bench/evaluate.py's record: plain and flip TTA
        e = json.loads((res/'evaluate.json').read_text())
        assert e['n_images'] == 10_000 and abs(e['accuracy'] - m['accuracy']) * 10_000 <= 1

@pytest.fixture(scope='session')
def test_set(tgz):
    "The official CIFAR-10, decoded once (and cached between sessions): `ImageArrays`."
    from cifar_adv.data import load_arrays
    return load_arrays(tgz)

def test_every_run_names_its_dataset_by_content(test_set):
    "Each committed run records the content key of the dataset it was tested on (`bench/data_digest.py` for the older ones): the official test set's, so that `evaluate RUN` finds any identical copy without --data."
    for res in RESULTS:
        assert json.loads((res/'metrics.json').read_text()).get('data_digest') == test_set.digest, res.name

RESCORE = [pytest.param(r, id=r.name, marks=[] if r.name == DEFAULT_RUN else [pytest.mark.all_results])
           for r in RESULTS if (r/'model.safetensors').exists()]

@pytest.mark.parametrize('res', RESCORE)
def test_rescored_on_the_test_set(res, tgz, test_set):
    "The package's own evaluation (what `cifar-adv evaluate RESULTS_DIR --data cifar10.tgz` prints), from the safe format, gives the run's figure; flip TTA gives evaluate.json's."
    from cifar_adv.inference import Predictor, evaluate
    m = json.loads((res/'metrics.json').read_text())
    pred = Predictor.load(res)
    ev = evaluate(pred, tgz)
    assert ev['n_images'] == m['n_valid'] == 10_000 and list(ev['per_class']) == m['classes']
    assert ev['accuracy'] == pytest.approx(m['accuracy'], abs=1e-3)     # final weights, official test set
    if (res/'evaluate.json').exists():
        e = json.loads((res/'evaluate.json').read_text())
        y = np.array([pred.classes.index(test_set.classes[i]) for i in test_set.valid_y])
        tta = float((pred.predict_proba(test_set.valid_x, tta=True).argmax(1) == y).mean())
        # written on one CPU, re-checked on another: their float32 kernels may differ, so one image's worth of tolerance
        assert e['accuracy'] == pytest.approx(ev['accuracy'], abs=1e-4) and e['accuracy_tta'] == pytest.approx(tta, abs=1e-4)

T85 = sorted((ROOT/'bench'/'results').glob('time_to_85*.json'))

@pytest.mark.parametrize('f', T85 or [None], ids=[f.stem for f in T85] or ['none'])
def test_time_to_85_record(f):
    "Each of bench/time_to_85.py's records is self-consistent: its verdict follows from its own accuracy and clock."
    if f is None: pytest.skip('no bench/results/time_to_85*.json yet')
    t = json.loads(f.read_text())
    assert t['total_s'] == pytest.approx(t['fit_wall_s'] + t['eval_wall_s'], abs=0.15)
    assert t['total_first_use_s'] == pytest.approx(t['first_use_s'] + t['total_s'], abs=0.15)
    assert t['fit_time_s'] < t['fit_wall_s'] and t['n_images'] == 10_000 and t['params'] < 200_000
    assert abs(t['accuracy'] - t['fit_accuracy']) * t['n_images'] <= 1        # evaluate agrees with the run's last epoch
    assert t['met'] == (t['accuracy'] >= t['target'] and t['total_s'] <= 60 * t['budget_min'])
