__version__ = "0.1.0"

from .audio import StylusError, data_path

_LAZY = {'StylusPipeline': 'pipeline', 'StylusConfig': 'pipeline', 'PRESETS': 'pipeline', 'TransferResult': 'pipeline'}

def __getattr__(name):
    "`stylus.StylusPipeline` and friends, imported on first use (they bring in torch and diffusers)."
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f'.{_LAZY[name]}', __name__), name)
    raise AttributeError(f"module 'stylus' has no attribute {name!r}")
