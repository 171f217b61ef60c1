"""A library has no side effects (issue 37): importing any module of cifar_adv, or making a report, leaves the user's
matplotlib backend and figures, warning filters, environment and model as they were."""
import json, os, subprocess, sys

PROBE = r'''
import importlib, json, os, pkgutil, sys, warnings
import matplotlib
matplotlib.use('module://matplotlib_inline.backend_inline')          # a notebook's backend
import matplotlib.pyplot as plt
fig = plt.figure()                                                   # the user's open figure
# the third-party libraries first: what they do on import is theirs, not cifar_adv's
import torch, pandas, cv2, fastai.vision.all, fastai.distributed, fastai.callback.mixup, fastai.callback.fp16, safetensors
state = lambda: dict(backend=matplotlib.get_backend(), filters=[repr(f) for f in warnings.filters], env=dict(os.environ),
                     figures=plt.get_fignums())
before = state()
import cifar_adv
names = sorted(m.name for m in pkgutil.iter_modules(cifar_adv.__path__))
for n in names: importlib.import_module('cifar_adv.' + n)
print(json.dumps(dict(names=names, before=before, after=state())))
'''

def test_importing_every_module_changes_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'NO_ALBUMENTATIONS_UPDATE'}    # unset, as on a user's machine
    r = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert {'core', 'train', 'report', 'tune', 'cli', 'inference', 'data'} <= set(res['names'])
    assert res['after'] == res['before'] and res['before']['backend'].endswith('backend_inline')

def test_gradcam_leaves_the_callers_model_as_it_was():
    "GradCAM needs in-place activations off and the model in eval mode: `gradcam_maps` works on a copy."
    import torch
    from cifar_adv.models import create_model
    from cifar_adv.report import gradcam_maps, cam_layer
    model = create_model('advnet_s').train()
    inplace = [m.inplace for m in model.modules() if hasattr(m, 'inplace')]
    assert any(inplace)
    maps = gradcam_maps(model, torch.randn(2, 3, 32, 32), [0, 1], cam_layer(model))
    assert maps.shape == (2, 32, 32) and model.training and [m.inplace for m in model.modules() if hasattr(m, 'inplace')] == inplace

def test_lr_find_figure_is_not_pyplots(sample, tmp_path):
    "`find_lr` saves its plot from a `Figure` of its own: the user's pyplot figures and backend are left alone."
    import matplotlib, matplotlib.pyplot as plt
    from cifar_adv.data import load_arrays
    from cifar_adv.dls import get_dls
    from cifar_adv.learner import get_learner, find_lr
    backend, fig = matplotlib.get_backend(), plt.figure()
    learn = get_learner(get_dls(load_arrays(sample), bs=32, n_train=64, n_valid=32, num_workers=0, device='cpu'), 'advnet_s', path=tmp_path)
    lr = find_lr(learn, tmp_path)
    assert lr > 0 and (tmp_path/'lr_find.png').stat().st_size > 1000
    assert plt.get_fignums() == [fig.number] and matplotlib.get_backend() == backend
    plt.close(fig)

def test_library_notes_go_through_logging(monkeypatch, capsys):
    "A note of the library (a batch larger than the data) is a log record on the `cifar_adv` logger, not a print: with a handler of the application's own, nothing reaches stderr."
    import logging
    from cifar_adv.dls import fit_bs
    records = []
    class Keep(logging.Handler):
        def emit(self, record): records.append(record.getMessage())
    lg = logging.getLogger('cifar_adv')
    monkeypatch.setattr(lg, 'handlers', [Keep()])      # the application's routing (the CLI's console, if an in-process run set it, set aside)
    monkeypatch.setattr(lg, 'propagate', False)
    assert fit_bs(256, 200) == 200
    assert records == ['note: batch size 256 is larger than the training set (200 images): using 200']
    assert capsys.readouterr().err == ''
