"""The benchmark scripts' shared command line: a parser described by the script's own docstring, and the options
several scripts take, each added with its default as `name=default`: `bench_parser(__doc__, data=DATA, bs=256)`."""
import argparse

COMMON = {                                       # option: argparse keywords besides its default
    'data': dict(help='the dataset: a folder of train/ and test/ or a .tgz archive'),
    'arch': dict(help='architecture'),
    'archs': dict(nargs='+', help='architectures'),
    'epochs': dict(type=int, help='training epochs'),
    'lr': dict(type=float, help='max learning rate of the one-cycle schedule'),
    'bs': dict(type=int, help='batch size'),
    'repeat': dict(type=int, help='runs of each measurement; the best is kept'),
    'rounds': dict(type=int, help='runs of each measurement, round-robin; the median is kept'),
    'out': dict(help='the JSON file written'),
}

def add_common(ap:argparse.ArgumentParser, **defaults) -> argparse.ArgumentParser:
    "Add the options of `COMMON` named in `defaults`, in that order, each with its default."
    for name, default in defaults.items():
        kw = dict(COMMON[name])
        shown = ("$CIFAR_ADV_DATA, else fastai's copy" if name == 'data' and default is None
                 else ' '.join(map(str, default)) if isinstance(default, (list, tuple)) else default)
        ap.add_argument(f'--{name}', default=default, **{**kw, 'help': f"{kw['help']} (default: {shown})".replace('%', '%%')})
    return ap

def bench_parser(doc:str, **defaults) -> argparse.ArgumentParser:
    "A parser described by the first line of `doc` (the script's docstring), with the common options in `defaults`."
    return add_common(argparse.ArgumentParser(description=doc.splitlines()[0]), **defaults)
