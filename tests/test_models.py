import json
from pathlib import Path
import pytest
import torch
from torch import nn
from cifar_adv.models import create_model, arch_options, list_archs, n_params, ARCH_PARAMS, GlobalAvgPool, legacy_keys, load_weights
from cifar_adv.summary import arch_info
from cifar_adv.rf import receptive_field, rf_table
from cifar_adv.core import CifarAdvError

# documented parameter counts (README, `cifar-adv archs`, the models notebook) and the constraints each arch claims
PARAMS = {'advnet': 186_034, 'advnet_s': 94_810, 'advnet_fast': 164_730, 'advnet_hr': 189_714, 'advnet_k5': 188_914, 'advnet_dil': 138_058, 'seed003': 151_902, 'seed000': 97_284,
          'seed004': 198_153, 'resnet18': 11_173_962, 'airnet': 192_444, 'airnet_lite': 192_312, 'airnet_patch': 192_048, 'airnet8': 192_444, 'airnet_res': 197_474, 'airnet_deep': 196_906}
SEED_RULES = {'no_maxpool', 'depthwise_separable', 'dilated', 'gap', 'rf_gt_44'}
CLAIMS = {'advnet': SEED_RULES | {'params_lt_200k'}, 'advnet_fast': SEED_RULES | {'params_lt_200k'},
          'advnet_hr': SEED_RULES | {'params_lt_200k'}, 'advnet_k5': SEED_RULES | {'params_lt_200k'},
          'advnet_s': SEED_RULES | {'params_lt_200k', 'params_lt_100k'},
          'advnet_dil': SEED_RULES | {'params_lt_200k'}, 'seed003': SEED_RULES | {'params_lt_200k'},
          'seed000': SEED_RULES | {'params_lt_200k', 'params_lt_100k'},
          'seed004': SEED_RULES - {'gap'} | {'params_lt_200k'},      # its 9x9 pool covers part of a 14x14 map
          'resnet18': {'no_maxpool', 'gap', 'rf_gt_44'}, 'airnet': SEED_RULES | {'params_lt_200k'},
          'airnet_lite': SEED_RULES | {'params_lt_200k'}, 'airnet_patch': SEED_RULES | {'params_lt_200k'}, 'airnet8': SEED_RULES | {'params_lt_200k'}, 'airnet_res': SEED_RULES | {'params_lt_200k'}, 'airnet_deep': SEED_RULES | {'params_lt_200k'}}

def test_registry():
    assert sorted(list_archs()) == sorted(PARAMS)
    assert ARCH_PARAMS == PARAMS
    with pytest.raises(CifarAdvError, match='unknown arch'): create_model('resnet9000')

def _slow(names, slow):
    "`names` as parameters, those in `slow` marked slow (a large net, or a large input)."
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in names]

@pytest.mark.parametrize('name', _slow(PARAMS, {'resnet18', 'seed004'}))
def test_arch_contract(name):
    m = create_model(name)
    assert m(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    assert create_model(name, n_out=7)(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    assert n_params(m) == PARAMS[name]
    info = arch_info(name)
    assert {k for k, v in info['checks'].items() if v} == CLAIMS[name]
    assert info['rf'] == receptive_field(m) and info['macs'] > 0
    if 'depthwise_separable' in CLAIMS[name]:
        assert any(isinstance(c, nn.Conv2d) and c.groups == c.in_channels > 1 for c in m.modules())

def test_dilated_net_has_no_stride_and_no_pooling():
    m = create_model('advnet_dil')
    assert all(c.stride == (1, 1) for c in m.modules() if isinstance(c, nn.Conv2d))
    assert not any(isinstance(c, (nn.MaxPool2d, nn.AvgPool2d)) for c in m.modules())
    shrinking = [r for r in rf_table(m) if r['size_out'] < r['size_in']]
    assert shrinking and all(r['dilation'] > 1 and r['padding'] == 0 for r in shrinking)

def test_own_nets_downsample_with_strided_3x3():
    for name in ('advnet', 'advnet_s'):
        convs = [c for c in create_model(name).modules() if isinstance(c, nn.Conv2d) and c.stride[0] > 1]
        assert convs and all(c.kernel_size == (3, 3) for c in convs)

def test_width_and_activation_options():
    assert n_params(create_model('advnet', width=0.5)) < n_params(create_model('advnet'))
    m = create_model('advnet', act='gelu', drop=0.1)
    assert any(isinstance(x, nn.GELU) for x in m.modules())
    with pytest.raises(CifarAdvError, match='unknown activation'): create_model('advnet', act='tanhh')

def test_arch_options_are_checked():
    assert arch_options('advnet_s') == dict(width=1.0, act='relu', drop=0.0) and arch_options('seed000') == dict(drop=0.01)
    with pytest.raises(CifarAdvError, match="arch 'seed004' takes no option 'width'; its options: none"): create_model('seed004', width=2)
    with pytest.raises(CifarAdvError, match="takes no option 'widht'; its options: width, act, drop"): create_model('advnet', widht=2)

def _linearise(model):
    "Positive, normalised weights; identity activations; BN and dropout in eval: every path passes gradient."
    for name, child in model.named_children():
        if isinstance(child, (nn.ReLU, nn.GELU, nn.SiLU, nn.CELU, nn.Mish)): setattr(model, name, nn.Identity())
        else: _linearise(child)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 1.0 / m.weight[0].numel())
            if m.bias is not None: nn.init.zeros_(m.bias)
    return model.eval().double()

def empirical_rf(name, size=160):
    "Extent of the input pixels with non-zero gradient for the centre pixel of the map that global pooling averages."
    model = _linearise(create_model(name))
    # the module that pools the last feature map to 1x1 (found at 32x32, where its output is 1x1)
    found = {}
    def spot(m, i, o):
        if o.dim() == 4 and o.shape[-1] == 1: found.setdefault('gap', m)
    hs = [m.register_forward_hook(spot) for m in model.modules() if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AvgPool2d))]
    with torch.no_grad(): model(torch.zeros(1, 3, 32, 32, dtype=torch.float64))
    for h in hs: h.remove()
    feats = {}
    h = found['gap'].register_forward_hook(lambda m, i, o: feats.__setitem__('x', i[0]))
    x = torch.zeros(1, 3, size, size, dtype=torch.float64, requires_grad=True)
    try: model(x)
    except RuntimeError: assert 'x' in feats     # a fixed-size head may not fit the larger input; the map is captured
    finally: h.remove()
    f = feats['x']
    f[0, :, f.shape[2]//2, f.shape[3]//2].sum().backward()
    g = x.grad[0].abs().sum(0)
    rows, cols = torch.nonzero(g.sum(1)).flatten(), torch.nonzero(g.sum(0)).flatten()
    return max(int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))

@pytest.mark.parametrize('name', _slow(list_archs(), {'resnet18', 'advnet_dil', 'seed003', 'seed004'}))
def test_rf_matches_gradient_measure(name):
    size = 224 if name in ('resnet18', 'seed004', 'advnet_k5', 'airnet_deep') else 160     # larger than the RF
    assert empirical_rf(name, size) == receptive_field(create_model(name))

def test_rf_table_columns():
    rows = rf_table(create_model('advnet'))
    assert rows[0]['rf_in'] == 1 and rows[0]['rf_out'] == 3
    assert {'kernel', 'stride', 'dilation', 'padding', 'jump_in', 'jump_out', 'rf_in', 'rf_out', 'size_out'} <= set(rows[0])
    assert rows[-1]['size_out'] == 4

def test_global_avg_pool_is_adaptive_pool_with_channels_last_gradients():
    "Same outputs and same gradients as `nn.AdaptiveAvgPool2d(1)`, but the gradient it sends back is not forced to NCHW."
    x = torch.randn(4, 8, 5, 5).contiguous(memory_format=torch.channels_last).requires_grad_()
    seen = {}
    for pool in (nn.AdaptiveAvgPool2d(1), GlobalAvgPool()):
        h = x * 2
        h.register_hook(lambda g, k=type(pool).__name__: seen.setdefault(k, g))
        out = pool(h)
        assert out.shape == (4, 8, 1, 1)
        (out * torch.arange(8.).view(1, 8, 1, 1)).sum().backward()
    ref, ours = seen['AdaptiveAvgPool2d'], seen['GlobalAvgPool']
    assert torch.allclose(ref, ours) and ref.is_contiguous() and not ref.is_contiguous(memory_format=torch.channels_last)
    assert ours.stride()[2:] == (0, 0)                   # a broadcast view: the layer behind reads it in its own layout

def test_channels_last_training_step_matches_nchw():
    "The layout the Learner trains in changes speed, not what is learned: same loss and gradients as NCHW."
    torch.manual_seed(0)
    a = create_model('advnet_fast'); b = create_model('advnet_fast'); b.load_state_dict(a.state_dict())
    a = a.to(memory_format=torch.channels_last)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    la = nn.functional.cross_entropy(a(x.contiguous(memory_format=torch.channels_last)), y); la.backward()
    lb = nn.functional.cross_entropy(b(x), y); lb.backward()
    assert la.item() == pytest.approx(lb.item(), rel=1e-5)
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-3, atol=1e-3 * pb.grad.abs().max()), n

COMMITTED = sorted((Path(__file__).resolve().parents[1]/'results').glob('*/model.safetensors'))

@pytest.mark.parametrize('f', COMMITTED, ids=[f.parent.name for f in COMMITTED])
def test_every_committed_run_loads_by_the_key_map(f):
    "Runs saved before the blocks named their layers (numbered keys) and after (named) load into today's model, every tensor in place."
    from safetensors.torch import load_file
    meta = json.loads((f.parent/'model.json').read_text())
    sd = load_file(f)
    model = load_weights(create_model(meta['arch'], n_out=len(meta['classes']), **meta['arch_kwargs']), sd)
    now, old = model.state_dict(), legacy_keys(model)
    assert len(sd) == len(now)
    assert all(torch.equal(now[k if k in now else old[k]], v) for k, v in sd.items())

def test_layer_names_and_the_key_map():
    m = create_model('advnet_hr')
    assert isinstance(m.c1.conv, nn.Conv2d) and isinstance(m.c1.bn, nn.BatchNorm2d) and isinstance(m.c1.act, nn.ReLU)
    body = m.c2[1].body
    assert body.conv_dw.groups == body.conv_dw.in_channels and body.conv_pw.kernel_size == (1, 1)
    old = legacy_keys(m)
    assert old['c1.0.weight'] == 'c1.conv.weight' and old['c2.1.body.0.weight'] == 'c2.1.body.conv_dw.weight'
    assert old['c2.1.body.2.running_var'] == 'c2.1.body.bn.running_var' and old['head.3.weight'] == 'head.3.weight'
    assert sorted(old.values()) == sorted(m.state_dict())                     # one old key for each key: a bijection
    with pytest.raises(RuntimeError): load_weights(create_model('advnet_s'), m.state_dict())   # another arch still fails
