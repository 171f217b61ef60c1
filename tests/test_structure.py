"""The package's shape (issue 37): modules small enough to read in one sitting, and no import circle."""
import ast
from pathlib import Path
import cifar_adv

PKG = Path(cifar_adv.__file__).parent
MODULES = sorted(p.stem for p in PKG.glob('*.py') if p.stem not in ('__init__', '_modidx'))

def test_no_module_over_about_300_lines():
    "Each module stays under about 300 lines, blank lines and nbdev's cell markers (`# %%`) aside (and nbdev's generated `_modidx`): one concern each."
    lines = lambda m: [l for l in (PKG/f'{m}.py').read_text().splitlines() if l.strip() and not l.startswith('# %%')]
    sizes = {m: len(lines(m)) for m in MODULES}
    assert len(sizes) >= 20 and max(sizes.values()) <= 300, {m: n for m, n in sizes.items() if n > 300}

def test_no_import_circle():
    "The package's modules import each other (at the top or inside a function) without a circle: each can be read, and tested, after those it needs."
    pkg, mods = PKG, set(MODULES)
    deps = {}
    for m in mods:
        found = set()
        for node in ast.walk(ast.parse((pkg/f'{m}.py').read_text())):
            if isinstance(node, ast.ImportFrom):
                name = node.module or ''
                if node.level: found.add(name.split('.')[0] if name else '')
                elif name.startswith('cifar_adv.'): found.add(name.split('.')[1])
                elif name == 'cifar_adv': found |= {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split('.')[1] for a in node.names if a.name.startswith('cifar_adv.')}
        deps[m] = (found & mods) - {m}
    def cycle_from(m, path):
        for d in deps[m]:
            if d in path: return path[path.index(d):] + [d]
            c = cycle_from(d, path + [d])
            if c: return c
    cycles = [c for m in sorted(mods) if (c := cycle_from(m, [m]))]
    assert not cycles, cycles[0]
