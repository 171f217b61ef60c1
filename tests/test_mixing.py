"Weight EMA, MixUp and CutMix (`fit --ema/--mixup/--cutmix`): the average is what is validated and kept, and a run stopped after an epoch resumes to the very same result."
import json
import pytest
import torch
from safetensors.torch import load_file
from fastai.callback.core import Callback
from cifar_adv.core import Recipe
from cifar_adv.train import fit_run
from cifar_adv.callbacks import ema_decay, mixing_cbs
from cifar_adv.checkpoint import load_checkpoint
from cifar_adv.inference import Predictor, evaluate

RECIPE = Recipe(arch='advnet_s', epochs=3, bs=32, seed=1, ema=0.9, mixup=0.4)

@pytest.fixture(scope='module')
def ema_run(tmp_path_factory, sample):
    out = tmp_path_factory.mktemp('ema')/'run'
    fit_run(out, RECIPE, data=sample, show_progress=False)
    return out

def test_ema_decay_warms_up():
    assert ema_decay(0.999, 0) == pytest.approx(0.1) and ema_decay(0.999, 90) == pytest.approx(0.91)
    assert ema_decay(0.999, 10**6) == 0.999 and ema_decay(0.5, 5) == pytest.approx(0.4) and ema_decay(0.5, 20) == 0.5

def test_mixing_cbs():
    assert mixing_cbs() == []
    assert [type(c).__name__ for c in mixing_cbs(0.99, 0.2)] == ['WeightEMA', 'MixUp']
    assert [type(c).__name__ for c in mixing_cbs(cutmix=1.0)] == ['CutMix']

@pytest.mark.slow
def test_the_average_is_the_final_model(ema_run, sample):
    st = load_checkpoint(ema_run)
    steps = len((ema_run/'schedule.csv').read_text().splitlines()) - 1
    assert int(st['ema']['n_averaged']) == steps            # one update per optimiser step
    avg = {k[len('module.'):]: v for k, v in st['ema'].items() if k.startswith('module.')}
    safe = load_file(ema_run/'model.safetensors')
    assert safe.keys() == avg.keys() == st['model'].keys()
    assert all(torch.equal(safe[k], avg[k]) for k in safe)   # the exported model is the average...
    assert not all(torch.equal(safe[k], st['model'][k]) for k in safe if k.endswith('weight'))  # ...not the trained weights
    m = json.loads((ema_run/'metrics.json').read_text())
    assert (m['ema'], m['mixup'], m['cutmix']) == (0.9, 0.4, 0.0)
    # the last epoch validated the weights that were exported
    r = evaluate(Predictor.load(ema_run/'model.safetensors'), sample)
    assert r['accuracy'] == pytest.approx(m['accuracy'], abs=1e-6)

class StopAfter(Callback):
    "Interrupt the fit once the checkpoint of epoch `n` is written, as a kill would."
    order = 99
    def __init__(self, n): self.n = n
    def after_epoch(self):
        if self.epoch == self.n: raise KeyboardInterrupt

@pytest.mark.slow
def test_stopped_then_resumed_is_the_uninterrupted_run(ema_run, sample, tmp_path):
    out = tmp_path/'stopped'
    with pytest.raises(KeyboardInterrupt): fit_run(out, RECIPE, data=sample, cbs=[StopAfter(0)], show_progress=False)
    assert load_checkpoint(out)['epoch'] == 0 and not (out/'model.safetensors').exists()
    m = fit_run(out, resume=True, show_progress=False)
    assert m['resumed_at_epoch'] == 1 and m['ema'] == 0.9
    assert (out/'metrics.csv').read_text() == (ema_run/'metrics.csv').read_text()
    a, b = load_file(out/'model.safetensors'), load_file(ema_run/'model.safetensors')
    assert all(torch.equal(a[k], b[k]) for k in a)

@pytest.mark.slow
def test_a_run_from_before_the_options_resumes_without_them(ema_run, sample, tmp_path):
    "run.json files written before ema/mixup/cutmix existed (version 1: one flat dict) lack the keys: they mean off."
    from dataclasses import asdict, replace
    out = tmp_path/'old'
    r = replace(RECIPE, ema=0.0, mixup=0.0, epochs=2)
    with pytest.raises(KeyboardInterrupt): fit_run(out, r, data=sample, cbs=[StopAfter(0)], show_progress=False)
    run = json.loads((out/'run.json').read_text())
    old = {k: v for k, v in asdict(r).items() if v is not None and k not in ('ema', 'mixup', 'cutmix', 'opt')}   # as version 1 wrote it
    old.update(aug_probs={}, arch_kwargs={}, data=run['data'], skip_bad=False, command=run['command'], **run['machine'])
    (out/'run.json').write_text(json.dumps(old))
    m = fit_run(out, resume=True, show_progress=False)
    assert (m['ema'], m['mixup'], m['cutmix']) == (0.0, 0.0, 0.0) and 'ema' not in load_checkpoint(out)
