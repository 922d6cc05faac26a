"""No import cycle among the slim modules.

Read from the sources (imports at the top and inside functions, and
`slim.<submodule>` attributes reached through `import slim`), so a cycle
that only a deferred import hides (as `slim.precision` <-> `slim.variables`
once did) fails too.
"""
import ast
import os

import slim

SLIM_DIR = os.path.dirname(os.path.abspath(slim.__file__))
ROOT = os.path.dirname(SLIM_DIR)


def _module_files():
  """{module name: source path} of every module in the slim package."""
  modules = {}
  for folder, _, files in os.walk(SLIM_DIR):
    for file_name in files:
      if file_name.endswith('.py'):
        path = os.path.join(folder, file_name)
        name = os.path.relpath(path, ROOT)[:-len('.py')].replace(os.sep, '.')
        modules[name.removesuffix('.__init__')] = path
  return modules


def _imported(name, path, modules):
  """The slim modules that module `name` imports (not the package)."""
  with open(path) as f:
    tree = ast.parse(f.read())
  package = name if path.endswith('__init__.py') else name.rsplit('.', 1)[0]
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ''
      if node.level:
        parts = package.split('.')[:len(package.split('.')) - node.level + 1]
        base = '.'.join(parts + ([base] if base else []))
      submodules = {f'{base}.{alias.name}' for alias in node.names} & set(
          modules)
      found.update(submodules or {base})
    elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
          and node.value.id == 'slim'):
      found.add(slim._SUBMODULES.get(node.attr, ''))  # pylint: disable=protected-access
  # A package is imported before its modules anyway: no edge back to it.
  ancestors = {name.rsplit('.', i)[0] for i in range(name.count('.') + 1)}
  return {m for m in found if m in modules and m not in ancestors}


def _cycle(graph):
  """One import cycle as a list of module names, or None."""
  done, path = set(), []

  def visit(node):
    if node in path:
      return path[path.index(node):] + [node]
    if node in done:
      return None
    path.append(node)
    for child in sorted(graph[node]):
      cycle = visit(child)
      if cycle:
        return cycle
    path.pop()
    done.add(node)
    return None

  for node in sorted(graph):
    cycle = visit(node)
    if cycle:
      return cycle
  return None


def test_slim_modules_import_no_cycle():
  modules = _module_files()
  graph = {name: _imported(name, path, modules)
           for name, path in modules.items()}
  assert 'slim.precision_scope' in graph['slim.variables']
  assert 'slim.variables' in graph['slim.precision']
  cycle = _cycle(graph)
  assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


def test_the_cycle_finder_finds_one():
  assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
  assert _cycle({'a': {'b'}, 'b': set()}) is None
