"""Keeps local-only file calls off the paths users give.

Every path a user gives (--dataset_dir, --train_dir, --output_dir, model and
image files ...) may be `gs://`, `s3://`, `hdfs://` or `ram://`, so it goes
through `tf.io.gfile` or `image_classifier/fileio.py`. `os.path.exists`,
`open`, `shutil.rmtree` and their kin only see the local disk: on
`gs://bucket/x` they answer "missing", or write a local `gs:/bucket/x`.

This test reads the code (not tests/, benchmarks/, compat/, scripts/) with
`ast` and lists every use of those functions, called or passed on, by file
and enclosing function (so it does not depend on line numbers). Each must
be in ALLOWED, with the reason it is sound; a new one fails until it is
converted or added with its reason. A call whose argument is `__file__` (a
script finding its own folder) is never a user path and is not listed.
"""
import ast
import collections
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNED_FOLDERS = ('datasets', 'deployment', 'flag_groups', 'image_classifier',
                   'nets', 'preprocessing', 'slim', 'tools')

# The functions that touch only the local disk.
_OS_PATH = frozenset({'exists', 'lexists', 'isfile', 'isdir', 'islink',
                      'getsize', 'getmtime', 'abspath', 'realpath',
                      'samefile'})
_OS = frozenset({'stat', 'lstat', 'listdir', 'scandir', 'walk', 'makedirs',
                 'mkdir', 'remove', 'removedirs', 'unlink', 'rename',
                 'replace', 'rmdir', 'open', 'fdopen', 'chmod', 'readlink',
                 'symlink', 'link', 'truncate'})
_MODULES = {'shutil': None,  # Every function.
            'tempfile': frozenset({'mkstemp', 'mkdtemp', 'TemporaryFile',
                                   'NamedTemporaryFile',
                                   'TemporaryDirectory'}),
            'glob': frozenset({'glob', 'iglob'})}

# Reasons shared by several entries.
_SOURCES = ('local source files of a converter (archives, image folders, '
            'CSV, annotations): read with local checks against hostile '
            'input (symlinks, FIFOs, sizes, archive members)')
_SCRATCH = ('the local --scratch_dir where archives are downloaded '
            '(resumable byte ranges) and extracted before the records go to '
            '--dataset_dir')
_LOCAL_BRANCH = ('the local branch of a local/remote split (fileio.is_local '
                 'chose it): atomic rename or symlink semantics')
_HOSTILE = ('hostile-input checks of a local image file: no FIFO, device or '
            'dangling symlink is opened (remote files go through gfile)')
_LOCAL_LOCK = ('the train_dir lock on a local disk (O_EXCL file, pid); '
               'remote train_dirs take the gfile lock')
_CHECKPOINTS = ('tools/download_checkpoint.py downloads and extracts '
                'published checkpoints into a local --checkpoint_dir')

# (file, enclosing function or class.method, the uses, why it is sound).
ALLOWED = (
    ('classify_images.py', '_LocalFiles', 'os.path.isfile os.path.isdir '
     'os.walk', _LOCAL_BRANCH + ' (Python glob, recursive **)'),
    ('classify_images.py', '_LocalFiles.glob', 'glob.glob', _LOCAL_BRANCH),
    ('datasets/build_imagenet_data.py', '_index_folder',
     'os.walk os.path.getsize', _SOURCES),
    ('datasets/build_imagenet_data.py', '_xml_sources',
     'os.path.isdir os.walk open', _SOURCES),
    ('datasets/build_imagenet_data.py', 'index_images',
     'os.path.exists os.path.isdir', _SOURCES),
    ('datasets/build_imagenet_data.py', 'load_bounding_boxes',
     'os.path.exists open', _SOURCES),
    ('datasets/build_imagenet_data.py', 'read_metadata',
     'os.path.isfile open', _SOURCES),
    ('datasets/build_imagenet_data.py', 'read_validation_labels',
     'os.path.isfile open', _SOURCES),
    ('datasets/convert_custom.py', '_check_args', 'os.path.realpath',
     'is a local --dataset_dir inside the local --source_dir (skipped for a '
     'remote --dataset_dir)'),
    ('datasets/convert_custom.py', '_image_paths', 'os.walk', _SOURCES),
    ('datasets/convert_custom.py', '_run_folder', 'os.path.abspath',
     _SOURCES + '; recorded in dataset_meta.json'),
    ('datasets/convert_custom.py', 'list_images', 'os.path.isdir os.listdir',
     _SOURCES),
    ('datasets/convert_custom.py', 'source_fingerprint', 'os.stat', _SOURCES),
    ('datasets/convert_custom_csv.py', '_file_sha256', 'open', _SOURCES),
    ('datasets/convert_custom_csv.py', '_source', 'os.path.abspath',
     _SOURCES + '; recorded in dataset_meta.json'),
    ('datasets/download.py', '_fetch_once', 'os.remove open', _SCRATCH),
    ('datasets/download.py', '_partial_size', 'os.path.exists '
     'os.path.getsize', _SCRATCH),
    ('datasets/download.py', 'download_file', 'os.makedirs os.path.exists '
     'os.remove os.replace', _SCRATCH),
    ('datasets/download.py', 'sha256_of', 'open', _SCRATCH),
    ('datasets/download_and_convert_cifar10.py', 'read_records', 'open',
     _SCRATCH),
    ('datasets/download_and_convert_cifar10.py', 'run',
     'os.path.exists os.remove shutil.rmtree', _SCRATCH),
    ('datasets/download_and_convert_flowers.py', 'get_filenames_and_classes',
     'os.listdir os.path.isdir', _SCRATCH),
    ('datasets/download_and_convert_flowers.py', 'run',
     'os.remove shutil.rmtree', _SCRATCH),
    ('datasets/download_and_convert_mnist.py', 'run', 'os.remove', _SCRATCH),
    ('datasets/download_and_convert_visualwakewords.py', '_load_annotations',
     'os.path.isfile open', _SOURCES + ' (--coco_dir)'),
    ('datasets/download_and_convert_visualwakewords.py', 'run',
     'os.path.isfile', _SOURCES + ' (--coco_dir)'),
    ('datasets/extract.py', '_move_into_place', 'os.listdir os.path.isdir '
     'os.path.islink shutil.rmtree os.path.lexists os.remove os.replace',
     _SCRATCH),
    ('datasets/extract.py', 'safe_extract',
     'os.makedirs tempfile.mkdtemp shutil.rmtree', _SCRATCH),
    ('datasets/image_coding.py', 'file_problem',
     'os.stat os.path.islink os.readlink', _HOSTILE),
    ('datasets/image_coding.py', 'read_regular_file', 'os.open os.fdopen',
     _HOSTILE),
    ('datasets/image_coding.py', 'read_file_with_key', 'open', _SOURCES),
    ('datasets/image_coding.py', 'read_jpeg', 'open', _SOURCES),
    ('datasets/image_coding.py', 'read_range', 'open', _SOURCES),
    ('datasets/label_csv.py', '_read_text',
     'os.path.exists os.path.isfile open', _SOURCES + ' (--source_csv)'),
    ('tools/score_classifications.py', '_comparable', 'os.path.abspath',
     _LOCAL_BRANCH + ' (a prediction\'s local path, as label_csv gives '
     'the CSV\'s)'),
    ('datasets/label_csv.py', 'read_csv', 'os.path.abspath',
     _SOURCES + ' (--source_csv)'),
    ('datasets/tfrecord_writer.py', 'remove_stale_shards',
     'os.path.abspath glob.glob', _LOCAL_BRANCH + ' (glob.escape of the '
     'folder name)'),
    ('datasets/tfrecord_writer.py', 'write_shards', 'os.replace',
     _LOCAL_BRANCH),
    ('image_classifier/cli.py', '_ensure_writable_local_dir',
     'os.path.exists os.path.isdir os.makedirs tempfile.TemporaryFile',
     _LOCAL_BRANCH),
    ('image_classifier/cli.py', 'check_output_file',
     'os.path.isdir os.path.abspath', _LOCAL_BRANCH),
    ('image_classifier/fileio.py', 'parent', 'os.path.abspath', _LOCAL_BRANCH),
    ('image_classifier/fileio.py', '_write_local_atomic',
     'os.path.abspath os.makedirs tempfile.mkstemp os.fdopen os.chmod '
     'os.replace os.path.exists os.unlink', _LOCAL_BRANCH),
    ('image_classifier/fileio.py', 'append_text', 'open', _LOCAL_BRANCH),
    ('image_classifier/fileio.py', 'read_bytes', 'open', _LOCAL_BRANCH),
    ('image_classifier/run_lock.py', 'RunLock._drop', 'os.unlink',
     _LOCAL_LOCK),
    ('image_classifier/run_lock.py', 'RunLock._open', 'os.open', _LOCAL_LOCK),
    ('image_classifier/run_lock.py', 'RunLock._take', 'os.unlink',
     _LOCAL_LOCK),
    ('image_classifier/run_lock.py', '_same_file', 'os.stat', _LOCAL_LOCK),
    ('image_classifier/tf_env.py', 'import_tensorflow',
     'tempfile.TemporaryFile', 'an anonymous temporary file that captures '
     'TensorFlow\'s start-up banners; no user path'),
    ('slim/precision.py', 'cpu_supports_bfloat16', 'open',
     '/proc/cpuinfo, no user path'),
    ('tools/download_checkpoint.py', '_extract_checkpoint',
     'os.path.isdir os.remove os.rmdir', _CHECKPOINTS),
    ('tools/download_checkpoint.py', '_print_lines', 'os.open',
     'os.devnull, no user path'),
    ('tools/download_checkpoint.py', '_recorded_sha256', 'open',
     _CHECKPOINTS),
    ('tools/download_checkpoint.py', 'download_checkpoint',
     'os.path.exists os.remove', _CHECKPOINTS),
    ('tools/export_saved_model.py', '_lexists', 'os.path.lexists',
     _LOCAL_BRANCH),
    ('tools/export_saved_model.py', '_new_staging_name',
     'tempfile.mkdtemp os.rmdir', _LOCAL_BRANCH),
    ('tools/export_saved_model.py', '_parent_dir', 'os.path.abspath',
     _LOCAL_BRANCH),
    ('tools/export_saved_model.py', '_publish', 'os.path.lexists '
     'tempfile.mkdtemp os.path.abspath os.rmdir os.replace shutil.rmtree',
     _LOCAL_BRANCH),
    ('tools/export_saved_model.py', '_remove_tree', 'shutil.rmtree',
     _LOCAL_BRANCH),
    ('tools/export_saved_model.py', '_staging_prefix', 'os.path.abspath',
     _LOCAL_BRANCH),
    ('tools/download_checkpoint.py', 'download_keras_checkpoint',
     'os.path.exists os.remove', _CHECKPOINTS),
    ('tools/import_keras_weights.py', 'check_flags', 'os.path.isfile',
     'h5py reads --keras_weights from a local file'),
    ('tools/label_image.py', '_exists', 'os.path.lexists', _LOCAL_BRANCH),
)


def _dotted(node):
  """'os.path.isfile' for the expression os.path.isfile, else None."""
  parts = []
  while isinstance(node, ast.Attribute):
    parts.append(node.attr)
    node = node.value
  if not isinstance(node, ast.Name):
    return None
  return '.'.join([node.id] + parts[::-1])


def _is_local_file_function(name):
  parts = name.split('.')
  if len(parts) == 3 and parts[:2] == ['os', 'path']:
    return parts[2] in _OS_PATH
  if len(parts) == 2 and parts[0] == 'os':
    return parts[1] in _OS
  if len(parts) == 2 and parts[0] in _MODULES:
    chosen = _MODULES[parts[0]]
    return chosen is None or parts[1] in chosen
  return False


class _Uses(ast.NodeVisitor):
  """Collects {enclosing function: [name, ...]} of one module."""

  def __init__(self):
    self.scope = []
    self.uses = collections.defaultdict(list)
    self._own_location = set()  # Nodes of calls on __file__.

  def _scoped(self, node):
    self.scope.append(node.name)
    self.generic_visit(node)
    self.scope.pop()

  visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

  def _add(self, name):
    self.uses['.'.join(self.scope) or '<module>'].append(name)

  def visit_Call(self, node):
    if any(isinstance(arg, ast.Name) and arg.id == '__file__'
           for arg in node.args):
      self._own_location.add(id(node.func))
    if isinstance(node.func, ast.Name) and node.func.id == 'open':
      self._add('open')
    self.generic_visit(node)

  def visit_Attribute(self, node):
    name = _dotted(node)
    if name and _is_local_file_function(name):
      if id(node) not in self._own_location:
        self._add(name)
      return
    self.generic_visit(node)


def _source_files():
  names = [name for name in os.listdir(ROOT) if name.endswith('.py')]
  for folder in SCANNED_FOLDERS:
    for root, dirs, files in os.walk(os.path.join(ROOT, folder)):
      dirs[:] = [d for d in dirs if d != '__pycache__']
      names.extend(os.path.relpath(os.path.join(root, name), ROOT)
                   for name in files if name.endswith('.py'))
  return sorted(names)


def found_uses():
  """{(file, function): set of names} of the scanned code."""
  uses = {}
  for name in _source_files():
    with open(os.path.join(ROOT, name), encoding='utf-8') as f:
      visitor = _Uses()
      visitor.visit(ast.parse(f.read(), name))
    for function, names in visitor.uses.items():
      uses[(name, function)] = set(names)
  return uses


def _allowed():
  return {(path, function): set(names.split())
          for path, function, names, _ in ALLOWED}


def test_every_local_file_call_is_allowed_with_its_reason():
  allowed = _allowed()
  new = sorted(f'{path} {function}: {" ".join(sorted(names - allowed.get((path, function), set())))}'
               for (path, function), names in found_uses().items()
               if names - allowed.get((path, function), set()))
  assert not new, (
      'local-only file calls, which cannot reach gs:// or ram:// paths; use '
      'tf.io.gfile or image_classifier/fileio.py, or, for a path that is '
      'local by design, add it to ALLOWED with the reason:\n'
      + '\n'.join(new))


def test_allowed_lists_only_uses_that_remain():
  found = found_uses()
  stale = sorted(f'{path} {function}: {" ".join(sorted(names - found.get((path, function), set())))}'
                 for (path, function), names in _allowed().items()
                 if names - found.get((path, function), set()))
  assert not stale, ('ALLOWED names uses the code no longer has; remove '
                     'them:\n' + '\n'.join(stale))


def test_every_entry_says_why():
  assert all(reason.strip() for *_, reason in ALLOWED)
  keys = [(path, function) for path, function, _, _ in ALLOWED]
  assert len(keys) == len(set(keys))


@pytest.mark.parametrize('code,expected', [
    ('import os\ndef f(p):\n  return os.path.exists(p)\n',
     {'f': ['os.path.exists']}),
    ('def f(p):\n  with open(p) as g:\n    pass\n', {'f': ['open']}),
    ('import shutil\nclass C:\n  def m(self, p):\n    shutil.rmtree(p)\n',
     {'C.m': ['shutil.rmtree']}),
    ('import os\nclass C:\n  isfile = staticmethod(os.path.isfile)\n',
     {'C': ['os.path.isfile']}),
    ('import os\nROOT = os.path.dirname(os.path.abspath(__file__))\n', {}),
    ('import os\ndef f(p):\n  return os.path.join(p, "x")\n', {}),
])
def test_scanner_finds_calls_and_references(code, expected):
  visitor = _Uses()
  visitor.visit(ast.parse(code))
  assert dict(visitor.uses) == expected
