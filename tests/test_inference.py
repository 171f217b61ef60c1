"Inference: the session's sample run, predicted and evaluated from each format (safetensors, export.pkl, ONNX) through `cifar-adv` in this process."
import csv, io, json, shutil
import numpy as np
import pytest
from PIL import Image
from conftest import call_cli

@pytest.fixture(scope='module')
def run(sample_run):
    "The session's sample run (conftest.sample_run): advnet_s, 2 epochs on the sample, exported to ONNX."
    return sample_run

@pytest.fixture(scope='module')
def images(sample): return sorted((sample/'test').rglob('*.png'))

def test_formats_agree(run, images):
    from cifar_adv.inference import Predictor
    preds = {f: Predictor.load(run/f, warn=False) for f in ('model.safetensors', 'export.pkl', 'model.onnx')}
    assert [p.format for p in preds.values()] == ['torch', 'torch', 'onnx']
    assert all(p.classes == preds['model.safetensors'].classes for p in preds.values())
    x = preds['model.safetensors'].preprocess(images)
    ref = preds['model.safetensors'].logits(x)
    assert ref.shape == (len(images), 10)
    np.testing.assert_allclose(preds['export.pkl'].logits(x), ref, atol=1e-5)
    np.testing.assert_allclose(preds['model.onnx'].logits(x), ref, atol=1e-4)     # the bound for ONNX
    labels = {f: [r['label'] for r in p.predict(images)] for f, p in preds.items()}
    assert labels['export.pkl'] == labels['model.safetensors'] == labels['model.onnx']
    # a run directory loads its safe format; PIL images, arrays and paths give the same answer
    d = Predictor.load(run)
    assert d.source == run/'model.safetensors'
    ims = [images[0], Image.open(images[1]), np.asarray(Image.open(images[2]))]
    assert [r['label'] for r in d.predict(ims)] == labels['model.safetensors'][:3]
    # flip TTA is the mean of the image's and its mirror's probabilities
    p, pf = d.predict_proba(images[:8]), d.predict_proba([np.asarray(Image.open(f))[:, ::-1].copy() for f in images[:8]])
    np.testing.assert_allclose(d.predict_proba(images[:8], tta=True), (p + pf) / 2, atol=1e-6)

def test_safe_format_never_unpickles(run, monkeypatch):
    import pickle, torch
    def boom(*a, **k): raise AssertionError('pickle used')
    for name in ('load', 'loads', 'Unpickler'): monkeypatch.setattr(pickle, name, boom)
    monkeypatch.setattr(torch, 'load', boom)
    from cifar_adv.inference import Predictor
    assert Predictor.load(run/'model.safetensors').predict(np.zeros((2, 32, 32, 3), np.uint8))[0]['label']

@pytest.mark.parametrize('model', ['run', 'model.safetensors', 'export.pkl', 'model.onnx'])
def test_evaluate_matches_the_runs_validation(run, sample, model, capsys):
    m = json.loads((run/'metrics.json').read_text())
    r = call_cli(capsys, 'evaluate', run if model == 'run' else run/model, '--data', sample, '--json')
    assert r.returncode == 0, r.stderr[-2000:]
    ev = json.loads(r.stdout)
    assert ev['n_images'] == m['n_valid'] == 100
    assert ev['accuracy'] == pytest.approx(m['accuracy'], abs=1e-6)        # same test images, same final weights
    assert set(ev['per_class']) == set(m['classes'])
    assert sum(v['support'] for v in ev['per_class'].values()) == 100
    assert ('pickle' in r.stderr) == (model == 'export.pkl')              # loading a pickle is announced

def test_evaluate_folder_of_classes_and_class_mismatch(run, sample, tmp_path, capsys):
    r = call_cli(capsys, 'evaluate', run, '--data', sample/'test')                # class folders given directly
    assert r.returncode == 0 and 'accuracy' in r.stdout, r.stderr
    other = shutil.copytree(sample/'test', tmp_path/'other')
    (other/'cat').rename(other/'kitten')
    r = call_cli(capsys, 'evaluate', run, '--data', other)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "only in data: ['kitten']" in lines[0] and "only in model: ['cat']" in lines[0]

@pytest.fixture
def mixed(tmp_path, images):
    d = tmp_path/'mixed'; (d/'sub').mkdir(parents=True)
    src = Image.open(images[0])
    src.save(d/'good.png'); src.save(d/'sub'/'photo.jpg', quality=90)
    src.convert('L').save(d/'grey.png')
    src.resize((64, 64)).save(d/'big.png')
    src.convert('RGBA').save(d/'alpha.png'); src.convert('P').save(d/'palette.png')
    Image.fromarray((np.asarray(src.convert('L'), np.uint16) * 257)).save(d/'deep16.png')
    raw = (d/'good.png').read_bytes(); (d/'truncated.png').write_bytes(raw[:len(raw) // 2])
    (d/'notes.txt').write_text('not an image')
    return d

def test_predict_mixed_folder(run, mixed, capsys):
    r = call_cli(capsys, 'predict', run, mixed, '--json', '--topk', 2)
    assert r.returncode == 2                                              # some inputs failed
    assert '2 of 9 inputs could not be predicted' in r.stderr and 'Traceback' not in r.stderr
    rows = {p['path'].split('/mixed/')[1]: p for p in json.loads(r.stdout)['predictions']}
    assert set(rows) == {'good.png', 'sub/photo.jpg', 'grey.png', 'big.png', 'alpha.png', 'palette.png', 'deep16.png',
                         'truncated.png', 'notes.txt'}
    for k in ('truncated.png', 'notes.txt'):
        assert rows[k]['label'] is None and 'unreadable image' in rows[k]['error'] and k in rows[k]['error']
    good = {k: v for k, v in rows.items() if k not in ('truncated.png', 'notes.txt')}
    assert all(v['error'] is None and v['label'] and len(v['topk']) == 2 and 0 < v['prob'] <= 1 for v in good.values())
    assert rows['big.png']['note'] == 'resized 64x64 to 32x32'
    assert rows['grey.png']['note'] == 'converted L to RGB' and 'converted I;16' in rows['deep16.png']['note']
    assert rows['good.png']['note'] == '' and rows['palette.png']['label'] == rows['good.png']['label']

def test_predict_csv_table_and_globs(run, mixed, sample, capsys):
    r = call_cli(capsys, 'predict', run/'model.onnx', f'{mixed}/*.png', '--csv', '--topk', 3)
    assert r.returncode == 2
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0]) == ['path', 'label', 'prob', 'label1', 'prob1', 'label2', 'prob2', 'label3', 'prob3', 'note', 'error']
    assert len(rows) == 7 and sum(1 for x in rows if x['error']) == 1
    r = call_cli(capsys, 'predict', run, sample/'test'/'cat', '--topk', 1)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ['path', 'label', 'prob'] and len(lines) == 11
    r = call_cli(capsys, 'predict', run, 'no/such/file.png', f'{mixed}/*.gif')
    assert r.returncode == 2 and 'not found' in r.stdout and 'no files match' in r.stdout

@pytest.mark.parametrize('args, msg', [
    (['predict', '/no/model', 'x.png'], 'model not found'),
    (['predict', '{run}/metrics.json', 'x.png'], 'unknown model format'),
    (['predict', '{run}', 'x.png', '--topk', '0'], '--topk must be > 0'),
    (['predict', '{run}', 'x.png', '--json', '--csv'], 'choose one of --json and --csv'),
    (['evaluate', '{run}', '--data', '/no/data'], 'data path not found'),
    (['export', '{run}', '--format', 'tflite'], 'unknown format'),
    (['export', '/no/run'], 'model not found'),
])
def test_inference_bad_input(run, args, msg, capsys):
    r = call_cli(capsys, *[a.format(run=run) for a in args])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and msg in lines[0], r.stderr

def test_export_safetensors_from_pickle(run, tmp_path, capsys):
    from safetensors.torch import load_file
    d = tmp_path/'only-pkl'; d.mkdir()
    shutil.copy(run/'export.pkl', d/'export.pkl')
    r = call_cli(capsys, 'export', d)
    assert r.returncode == 0, r.stderr
    assert 'pickle' in r.stderr
    a, b = load_file(d/'model.safetensors'), load_file(run/'model.safetensors')
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    ma, mb = json.loads((d/'model.json').read_text()), json.loads((run/'model.json').read_text())
    assert ma.keys() == mb.keys() and all(ma[k] == mb[k] for k in ma if k not in ('mean', 'std'))
    for k in ('mean', 'std'): assert ma[k] == pytest.approx(mb[k], abs=1e-6)      # float32 in the pickle
