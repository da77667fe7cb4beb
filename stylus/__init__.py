__version__ = "0.1.0"

# Nothing heavy is imported here: `import stylus` (and so the `stylus` command's start, before it can handle Ctrl-C)
# stays a few milliseconds; each name below is imported from its module on first use.
_LAZY = {'StylusError': 'audio', 'data_path': 'audio',
         'StylusPipeline': 'pipeline', 'StylusConfig': 'pipeline', 'PRESETS': 'pipeline', 'TransferResult': 'pipeline'}

def __getattr__(name):
    "`stylus.StylusError`, `stylus.StylusPipeline` and friends (and the submodules), imported on first use."
    import importlib, importlib.util
    if name in _LAZY: return getattr(importlib.import_module(f'.{_LAZY[name]}', __name__), name)
    if not name.startswith('_') and importlib.util.find_spec(f'{__name__}.{name}') is not None:
        return importlib.import_module(f'.{name}', __name__)
    raise AttributeError(f"module 'stylus' has no attribute {name!r}")

def __dir__(): return sorted([*globals(), *_LAZY])
