"The committed reference results re-check: their safe weights, evaluated here on the official test set, give the accuracy they report."
import json
from pathlib import Path
import pandas as pd
import pytest
from safetensors.torch import load_file
from cifar_adv.models import create_model, n_params, load_weights
from cifar_adv.inference import Predictor, evaluate

RESULTS = sorted(p.parent for p in (Path(__file__).resolve().parents[1]/'results').glob('*/metrics.json'))

@pytest.mark.parametrize('res', RESULTS, ids=[r.name for r in RESULTS])
def test_reference_result(res, tgz):
    m = json.loads((res/'metrics.json').read_text())
    meta = json.loads((res/'model.json').read_text())
    model = create_model(meta['arch'], n_out=len(meta['classes']), **meta['arch_kwargs']).eval()
    load_weights(model, load_file(res/'model.safetensors'))
    assert n_params(model) == m['params'] and (res/'model.safetensors').stat().st_size < 4 * m['params'] + 100_000   # fp32 weights, BatchNorm buffers
    # the package's own evaluation (what `cifar-adv evaluate RESULTS_DIR --data cifar10.tgz` prints), from the safe format
    ev = evaluate(Predictor.load(res), tgz)
    assert ev['n_images'] == m['n_valid'] == 10_000 and list(ev['per_class']) == meta['classes']
    assert ev['accuracy'] == pytest.approx(m['accuracy'], abs=1e-3)     # final weights, official test set
    csv = pd.read_csv(res/'metrics.csv')
    # the last epoch's validation; a run trained in mixed precision ran it under autocast, and its `accuracy` is the fp32 pass after
    assert len(csv) == m['epochs'] and csv.accuracy.iloc[-1] == pytest.approx(m.get('accuracy_autocast', m['accuracy']))
    assert ('accuracy_autocast' in m) == (m.get('precision', 'fp32') != 'fp32')
    if (res/'per_class.csv').exists():
        per = pd.read_csv(res/'per_class.csv')
        assert per.support.sum() == 10_000 and (per.recall * per.support).sum() / 10_000 == pytest.approx(m['accuracy'], abs=1e-6)
    if (res/'evaluate.json').exists():                                    # bench/evaluate.py's record: plain and flip TTA
        e = json.loads((res/'evaluate.json').read_text())
        # written on one CPU, re-checked on another: their float32 kernels may differ, so one image's worth of tolerance
        assert e['accuracy'] == pytest.approx(ev['accuracy'], abs=1e-4) and e['n_images'] == 10_000
        assert e['accuracy_tta'] == pytest.approx(evaluate(Predictor.load(res), tgz, tta=True)['accuracy'], abs=1e-4)

T85 = sorted((Path(__file__).resolve().parents[1]/'bench'/'results').glob('time_to_85*.json'))

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
