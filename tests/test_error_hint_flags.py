"""Every --flag an error or hint names is a flag of a script that prints it.

The error strings of a module are the string literals inside its `raise`
statements and its calls to `fail` / `exit_now`. Each `--name` in them must
be a flag that an absl parser defines (tests/cli_harness.flag_values), or
one of absl's own:

* in a script's own file, a flag of that script;
* in a shared module (image_classifier/, tools/, datasets/, slim/ ...), a
  flag of one of the scripts that import it, directly or not;
* after another script's name ('tools/freeze_graph.py --output_node_names'),
  a flag of that script.
"""
import ast
import os
import re

import pytest

from tests import cli_harness as h

_PACKAGES = {name for name in os.listdir(h.ROOT)
             if os.path.isfile(os.path.join(h.ROOT, name, '__init__.py'))
             and name != 'tests'}
_TOP_LEVEL = {name[:-3] for name in os.listdir(h.ROOT)
              if name.endswith('.py')}
# Modules that import others by name (datasets/registry.py: the
# converters, when used).
_DYNAMIC_IMPORTS = {'datasets.registry': [
    'datasets.' + name[:-3]
    for name in os.listdir(os.path.join(h.ROOT, 'datasets'))
    if name.endswith('.py')]}
_FAILING_CALLS = {'fail', 'exit_now'}
_FLAG = re.compile(r'--([a-z][a-z0-9_]*)(?![a-z0-9_\x00])')
_OTHER_SCRIPT = re.compile(
    r'([\w/]+)\.py((?:\s+--[a-z][a-z0-9_]*(?:=\S*)?)+)')
# absl's flags, which every script has.
_ABSL_FLAGS = {'help', 'helpfull', 'helpshort', 'helpxml', 'flagfile',
               'undefok', 'verbosity', 'v', 'logtostderr', 'alsologtostderr',
               'log_dir', 'stderrthreshold', 'showprefixforinfo',
               'only_check_args', 'pdb', 'pdb_post_mortem', 'run_with_pdb',
               'run_with_profiling', 'profile_file', 'use_cprofile_for_profiling'}


def _module_path(name):
  path = os.path.join(h.ROOT, *name.split('.'))
  if os.path.isdir(path):
    path = os.path.join(path, '__init__.py')
  else:
    path += '.py'
  return path if os.path.isfile(path) else None


def _is_repository_module(name):
  return name.split('.')[0] in _PACKAGES or name in _TOP_LEVEL


def _imported(tree):
  """The module names a module imports (absolute names)."""
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield alias.name
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      yield node.module
      for alias in node.names:
        yield f'{node.module}.{alias.name}'


def _repository_modules(script):
  """{module name: parsed tree} of `script` and the modules of this
  repository it imports, transitively."""
  found, pending = {}, [script]
  while pending:
    name = pending.pop()
    if name in found:
      continue
    path = _module_path(name)
    if path is None:
      continue
    with open(path, encoding='utf-8') as f:
      found[name] = ast.parse(f.read(), path)
    pending.extend(m for m in _imported(found[name])
                   if _is_repository_module(m) and m not in found)
    pending.extend(_DYNAMIC_IMPORTS.get(name, ()))
  return found


def _text(node):
  """The text of a string node; an f-string's fields become '\\x00'."""
  if isinstance(node, ast.Constant) and isinstance(node.value, str):
    return node.value
  return ''.join(v.value if isinstance(v, ast.Constant) else '\x00'
                 for v in node.values)


def _strings(node):
  """The texts of the string literals under `node` (an f-string as one)."""
  if isinstance(node, ast.JoinedStr) or (
      isinstance(node, ast.Constant) and isinstance(node.value, str)):
    yield _text(node)
    return
  for child in ast.iter_child_nodes(node):
    yield from _strings(child)


def _error_strings(tree):
  """The string literals inside raise statements and fail() calls."""
  for node in ast.walk(tree):
    if isinstance(node, ast.Raise) and node.exc is not None:
      yield from _strings(node.exc)
    elif isinstance(node, ast.Call):
      func = node.func
      name = func.attr if isinstance(func, ast.Attribute) else getattr(
          func, 'id', None)
      if name in _FAILING_CALLS:
        yield from _strings(node)


def _defined_flags(script):
  """The flags `script` takes, with the --noname form of its booleans."""
  values = vars(h.flag_values(script))
  return (set(values) | _ABSL_FLAGS
          | {'no' + name for name, value in values.items()
             if isinstance(value, bool)})


def _unknown_flags(module, tree, allowed):
  """['module: --flag in "..."'] for each flag its errors name that is
  neither in `allowed` nor (after a script's name) that script's."""
  problems = []
  for text in _error_strings(tree):
    for other, args in _OTHER_SCRIPT.findall(text):
      other = other.replace('/', '.')
      if other not in h.SCRIPTS:
        continue
      problems.extend(f'{module}: {other}.py --{flag} in {text!r}'
                      for flag in _FLAG.findall(args)
                      if flag not in _defined_flags(other))
    problems.extend(f'{module}: --{flag} in {text!r}'
                    for flag in _FLAG.findall(_OTHER_SCRIPT.sub('', text))
                    if flag not in allowed)
  return problems


def _shared_modules():
  """{module: (tree, the flags of every script that imports it)}."""
  shared = {}
  for script in h.SCRIPTS:
    for module, tree in _repository_modules(script).items():
      if module in h.SCRIPTS:
        continue
      _, allowed = shared.setdefault(module, (tree, set()))
      allowed.update(_defined_flags(script))
  return shared


def test_the_collector_sees_errors_and_fields():
  tree = ast.parse(
      "def f(x):\n"
      "  if x: raise ValueError(f'--alpha={x} needs --beta; also --gam_{x}')\n"
      "  cli.fail('see tools/label_image.py --labels and --delta')\n"
      "  print('--not_an_error')\n")
  texts = list(_error_strings(tree))
  flags_named = {f for t in texts for f in _FLAG.findall(
      _OTHER_SCRIPT.sub('', t))}
  assert flags_named == {'alpha', 'beta', 'delta'}
  assert [_FLAG.findall(args) for t in texts
          for _, args in _OTHER_SCRIPT.findall(t)] == [['labels']]


@pytest.mark.parametrize('script', h.SCRIPTS)
def test_a_script_names_only_its_own_flags(script):
  tree = _repository_modules(script)[script]
  assert _unknown_flags(script, tree, _defined_flags(script)) == []


def test_a_shared_module_names_only_flags_of_its_scripts():
  shared = _shared_modules()
  assert {'image_classifier.cli', 'tools.classifiers',
          'slim.variables'} <= set(shared)
  problems = []
  for module, (tree, allowed) in sorted(shared.items()):
    problems.extend(_unknown_flags(module, tree, allowed))
  assert problems == []
