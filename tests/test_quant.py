"int8 ONNX: the committed weights of the default arch (advnet_hr-60ep) quantized with the sample's training images, checked against float32."
import json, os, shutil, subprocess, sys
import numpy as np
import pytest
from PIL import Image
from conftest import ROOT, run_cli, call_cli

RUN = ROOT/'results'/'advnet_hr-60ep'

@pytest.fixture(scope='module')
def exported(tmp_path_factory, sample):
    d = tmp_path_factory.mktemp('int8')
    for fmt, name in (('onnx', 'model.onnx'), ('onnx-int8', 'model.int8.onnx')):
        r = run_cli('export', RUN, '--format', fmt, '--data', sample, '--n_calib', 200, '--out', d/name)
        assert r.returncode == 0, r.stderr[-3000:]
    assert 'int8, calibrated on 200 training images' in r.stdout
    return d

@pytest.fixture(scope='module')
def images(sample): return sorted((sample/'test').rglob('*.png'))

@pytest.mark.slow
def test_int8_agrees_with_float32(exported, images):
    from cifar_adv.inference import Predictor
    f32, q = Predictor.load(RUN/'model.safetensors'), Predictor.load(exported/'model.int8.onnx')
    assert (q.format, q.classes, q.size) == ('onnx-int8', f32.classes, f32.size)
    a, b = f32.predict_proba(images).argmax(1), q.predict_proba(images).argmax(1)
    assert len(images) == 100 and (a == b).mean() >= 0.98, (a == b).mean()

@pytest.mark.slow
def test_int8_metadata_size_and_graph(exported, sample):
    import onnx
    from cifar_adv.inference import Predictor, META_KEYS
    from cifar_adv.export import INT8_SETTINGS
    q = Predictor.load(exported/'model.int8.onnx')
    assert q.meta == {k: v for k, v in json.loads((RUN/'model.json').read_text()).items() if k in META_KEYS}
    assert q.int8 == dict(INT8_SETTINGS, n_calib=200, seed=0, split='train', data=str(sample))
    assert Predictor.load(exported/'model.onnx').int8 is None
    assert (exported/'model.int8.onnx').stat().st_size <= 0.4 * (exported/'model.onnx').stat().st_size
    ops = [n.op_type for n in onnx.load(exported/'model.int8.onnx').graph.node]
    g = onnx.load(exported/'model.int8.onnx').graph
    weights = {i.name for i in g.initializer}
    dq_out = {n.output[0]: n.input[0] for n in g.node if n.op_type == 'DequantizeLinear'}
    convs = [n for n in g.node if n.op_type == 'Conv']
    assert convs and ops.count('QuantizeLinear') > 0
    # every convolution reads a quantized activation and int8 weights (QDQ: DequantizeLinear in front of each input)
    assert all(n.input[0] in dq_out and dq_out.get(n.input[1]) in weights for n in convs)

@pytest.mark.slow
def test_int8_predicts_in_a_fresh_process_without_torch(exported, images):
    from cifar_adv.inference import Predictor
    want = [r['label'] for r in Predictor.load(exported/'model.int8.onnx').predict(images[:10])]
    code = ("import sys, json; from cifar_adv.inference import Predictor; "
            f"p = Predictor.load({str(exported/'model.int8.onnx')!r}); "
            f"print(json.dumps([r['label'] for r in p.predict({[str(f) for f in images[:10]]!r})])); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout) == want

@pytest.mark.slow
def test_evaluate_int8_equals_onnxruntime_directly(exported, sample, images):
    import onnxruntime as ort
    r = run_cli('evaluate', exported/'model.int8.onnx', '--data', sample, '--json')
    assert r.returncode == 0, r.stderr[-2000:]
    ev = json.loads(r.stdout)
    sess = ort.InferenceSession(str(exported/'model.int8.onnx'), providers=['CPUExecutionProvider'])
    meta = json.loads(sess.get_modelmeta().custom_metadata_map['cifar_adv'])
    x = np.stack([np.asarray(Image.open(f).convert('RGB')) for f in images]).transpose(0, 3, 1, 2).astype(np.float32) / 255
    x = (x - np.array(meta['mean'], np.float32)[:, None, None]) / np.array(meta['std'], np.float32)[:, None, None]
    pred = sess.run(None, {sess.get_inputs()[0].name: x})[0].argmax(1)
    y = np.array([meta['classes'].index(f.parent.name) for f in images])
    assert ev['format'] == 'onnx-int8' and ev['n_images'] == 100
    assert ev['accuracy'] == pytest.approx(float((pred == y).mean()), abs=1e-9)

@pytest.mark.parametrize('args, msg', [
    (['--n_calib', '0', '--data', '{sample}'], '--n_calib must be > 0'),
    (['--data', '/no/data'], 'data path not found: /no/data'),
    ([], 'no dataset found: pass --data PATH'),          # the run's recorded data is not on this machine
    (['--data', '{sample}', '--out', '{run}/int8.txt'], '--out must be an .onnx file'),
    (['--format', 'onnx-int9'], 'unknown format'),
])
def test_int8_bad_input_writes_nothing(tmp_path, sample, args, msg, capsys, monkeypatch):
    run = tmp_path/'run'; run.mkdir()
    for f in ('model.safetensors', 'model.json', 'metrics.json'): shutil.copy(RUN/f, run/f)
    m = json.loads((run/'metrics.json').read_text())                      # a run that names its dataset by path only, from
    (run/'metrics.json').write_text(json.dumps({k: v for k, v in m.items() if k != 'data_digest'}))   # another machine
    before = sorted(os.listdir(run))
    fmt = [] if '--format' in args else ['--format', 'onnx-int8']
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'fastai'))              # no fastai cache of CIFAR-10 to fall back on
    r = call_cli(capsys, 'export', run, *fmt, *[a.format(sample=sample, run=run) for a in args])
    lines = r.stderr.strip().splitlines()
    notes = [l for l in lines[:-1] if l.startswith('note: ')]              # the run's recorded dataset is not on this machine
    assert r.returncode == 2 and len(lines) == len(notes) + 1 and msg in lines[-1], r.stderr
    assert sorted(os.listdir(run)) == before

@pytest.mark.slow
def test_int8_from_an_onnx_file_is_refused(exported, sample):
    r = run_cli('export', exported/'model.onnx', '--format', 'onnx-int8', '--data', sample, '--out', exported/'again.onnx')
    assert r.returncode == 2 and 'int8 ONNX is exported from a PyTorch model' in r.stderr
    assert not (exported/'again.onnx').exists()
