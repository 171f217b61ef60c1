import pytest
import torch
from torch import nn
from cifar_adv.models import create_model, list_archs, n_params, Net
from cifar_adv.rf import receptive_field, rf_table
from cifar_adv.core import CifarAdvError

# documented parameter counts (README and the models notebook)
PARAMS = {'advnet': 186_034, 'advnet_s': 94_810}
LIMIT = {'advnet': 200_000, 'advnet_s': 100_000}

def test_registry():
    assert list_archs() == sorted(PARAMS)
    with pytest.raises(CifarAdvError, match='unknown arch'): create_model('resnet9000')

@pytest.mark.parametrize('name', sorted(PARAMS))
def test_arch_contract(name):
    m = create_model(name)
    assert m(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    assert create_model(name, n_out=7)(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    assert n_params(m) == PARAMS[name] < LIMIT[name]
    mods = list(m.modules())
    assert not any(isinstance(x, (nn.MaxPool2d, nn.AvgPool2d)) for x in mods)
    convs = [x for x in mods if isinstance(x, nn.Conv2d)]
    assert any(c.groups == c.in_channels > 1 for c in convs), 'a depthwise conv'
    assert any(c.kernel_size == (1, 1) for c in convs), 'a pointwise conv'
    assert any(c.dilation[0] > 1 for c in convs), 'a dilated conv'
    assert all(c.kernel_size == (3, 3) for c in convs if c.stride[0] > 1), 'downsampling by strided 3x3 convs'
    assert isinstance(m.head[0], nn.AdaptiveAvgPool2d), 'global average pooling'
    assert receptive_field(m) > 44

def test_width_and_activation_options():
    assert n_params(create_model('advnet', width=0.5)) < n_params(create_model('advnet'))
    m = create_model('advnet', act='gelu', drop=0.1)
    assert any(isinstance(x, nn.GELU) for x in m.modules())
    with pytest.raises(CifarAdvError, match='unknown activation'): create_model('advnet', act='tanhh')

def empirical_rf(model, size=96):
    "Extent of the input pixels that reach the centre output of the last conv layer (positive weights, no BN)."
    model = model.eval()
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d): nn.init.constant_(mod.weight, 0.05)
    feats = {}
    last = [x for x in model.modules() if isinstance(x, nn.Conv2d)][-1]
    h = last.register_forward_hook(lambda m, i, o: feats.__setitem__('o', o))
    x = torch.zeros(1, 3, size, size, requires_grad=True)
    model(x); h.remove()
    o = feats['o']
    o[0, :, o.shape[2]//2, o.shape[3]//2].sum().backward()
    g = x.grad[0].abs().sum(0)
    rows = torch.nonzero(g.sum(1)).flatten()
    return int(rows[-1] - rows[0] + 1)

@pytest.mark.parametrize('name', sorted(PARAMS))
def test_rf_matches_gradient_measure(name):
    m = create_model(name)
    for mod in m.modules():       # make every path pass gradient: identity BN, linear activations
        if isinstance(mod, nn.BatchNorm2d): mod.eval()
        if isinstance(mod, nn.ReLU): mod.inplace = False
    m = _linearise(m)
    assert empirical_rf(m, size=160) == receptive_field(m, size=160)

def _linearise(model):
    for name, child in model.named_children():
        if isinstance(child, (nn.ReLU, nn.GELU, nn.SiLU, nn.CELU, nn.Mish)): setattr(model, name, nn.Identity())
        else: _linearise(child)
    return model

def test_rf_table_columns():
    rows = rf_table(create_model('advnet'))
    assert rows[0]['rf_in'] == 1 and rows[0]['rf_out'] == 3
    assert {'kernel', 'stride', 'dilation', 'padding', 'jump_in', 'jump_out', 'rf_in', 'rf_out', 'size_out'} <= set(rows[0])
    assert rows[-1]['size_out'] == 4
