"""Tests for image_classifier/fileio.py: local and remote (ram://) files."""
import errno
import os
import subprocess
import sys
import uuid

import pytest
import tensorflow as tf

from image_classifier import cli
from image_classifier import fileio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture
def ram_dir():
  """A fresh folder on TensorFlow's in-memory filesystem, removed after."""
  path = f'ram://fileio-{uuid.uuid4().hex}'
  yield path
  if tf.io.gfile.exists(path):
    tf.io.gfile.rmtree(path)


@pytest.mark.parametrize('path, local', [
    ('/tmp/x', True), ('relative/x', True), ('file:///tmp/x', True),
    ('ram://x', False), ('gs://bucket/x', False), ('s3://b/x', False),
    ('hdfs://namenode:9000/x', False), ('c:x', True)])
def test_is_local(path, local):
  assert fileio.is_local(path) is local


def test_local_path_drops_the_file_scheme():
  assert fileio.local_path('file:///tmp/x') == '/tmp/x'
  assert fileio.local_path('/tmp/x') == '/tmp/x'


def test_remote_parent():
  assert fileio.remote_parent('ram://a/b/c.json') == 'ram://a/b'
  assert fileio.remote_parent('gs://bucket/c.json') == 'gs://bucket'
  assert fileio.remote_parent('ram://c.json') == ''


def test_write_atomic_remote_creates_folders_and_overwrites(ram_dir):
  path = f'{ram_dir}/a/b/value.json'
  fileio.write_json_atomic(path, {'b': 1, 'a': [2]})
  assert fileio.read_json(path) == {'a': [2], 'b': 1}
  fileio.write_atomic(path, 'new')
  assert fileio.read_text(path) == 'new'
  assert tf.io.gfile.listdir(f'{ram_dir}/a/b') == ['value.json']


def test_write_atomic_local_leaves_no_temporary_file(tmp_path):
  path = tmp_path / 'sub' / 'value.txt'
  fileio.write_atomic(str(path), b'bytes')
  fileio.write_atomic(f'file://{path}', 'text')
  assert path.read_text() == 'text'
  assert os.listdir(path.parent) == ['value.txt']
  assert path.stat().st_mode & 0o777 == 0o644


def test_write_atomic_local_keeps_the_old_file_on_failure(tmp_path,
                                                          monkeypatch):
  path = tmp_path / 'value.txt'
  path.write_text('old')

  def broken_replace(source, target):
    raise OSError(errno.EIO, 'broken')

  monkeypatch.setattr(fileio.os, 'replace', broken_replace)
  with pytest.raises(OSError):
    fileio.write_atomic(str(path), 'new')
  assert path.read_text() == 'old'
  assert os.listdir(tmp_path) == ['value.txt']


def test_read_missing_is_file_not_found_everywhere(tmp_path, ram_dir):
  with pytest.raises(FileNotFoundError):
    fileio.read_text(str(tmp_path / 'missing'))
  with pytest.raises(FileNotFoundError) as raised:
    fileio.read_text(f'{ram_dir}/missing')
  assert raised.value.filename == f'{ram_dir}/missing'


def test_read_json_of_bad_content_is_a_value_error(ram_dir):
  fileio.write_atomic(f'{ram_dir}/bad.json', b'\xff{')
  with pytest.raises(ValueError):
    fileio.read_json(f'{ram_dir}/bad.json')


def test_os_errors_translates_tensorflow_errors_only():
  with pytest.raises(PermissionError):
    with fileio.os_errors('gs://b/x'):
      raise tf.errors.PermissionDeniedError(None, None, 'denied')
  with pytest.raises(OSError) as raised:
    with fileio.os_errors('gs://b/x'):
      raise tf.errors.ResourceExhaustedError(None, None, 'quota')
  assert raised.value.errno == errno.ENOSPC
  assert raised.value.strerror == 'quota'
  with pytest.raises(KeyError):
    with fileio.os_errors('gs://b/x'):
      raise KeyError('a bug stays a bug')


def test_ensure_writable_dir_remote(ram_dir):
  cli.ensure_writable_dir(f'{ram_dir}/out', '--output_dir')
  assert tf.io.gfile.isdir(f'{ram_dir}/out')
  assert tf.io.gfile.listdir(f'{ram_dir}/out') == []
  fileio.write_atomic(f'{ram_dir}/file', 'x')
  with pytest.raises(cli.UserError, match='is a file, not a folder'):
    cli.ensure_writable_dir(f'{ram_dir}/file', '--output_dir')


def test_check_output_file_remote(ram_dir):
  cli.check_output_file(f'{ram_dir}/sub/graph.pb', '--output_file')
  assert tf.io.gfile.isdir(f'{ram_dir}/sub')
  with pytest.raises(cli.UserError, match='is a folder'):
    cli.check_output_file(f'{ram_dir}/sub', '--output_file')


def test_local_use_never_imports_tensorflow(tmp_path):
  """classify_images.py on a TFLite model and --help stay TensorFlow-free."""
  code = ('import sys; from image_classifier import cli, fileio\n'
          f'p = {str(tmp_path / "x.json")!r}\n'
          'cli.write_json_atomic(p, [1]); assert fileio.read_json(p) == [1]\n'
          'assert fileio.is_local(p)\n'
          'assert "tensorflow" not in sys.modules, "imported"\n')
  subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True,
                 env=dict(os.environ, PYTHONPATH=ROOT))


def test_append_text_local_and_remote(tmp_path, ram_dir):
  for path in (str(tmp_path / 'log.jsonl'), f'{ram_dir}/sub/log.jsonl'):
    fileio.append_text(path, 'one\n')
    fileio.append_text(path, 'two\n')
    assert fileio.read_text(path) == 'one\ntwo\n'


def test_filesystem_plugins_load_only_for_their_schemes(monkeypatch):
  import builtins
  imported = []
  real_import = builtins.__import__

  def fake_import(name, *args, **kwargs):
    if name == 'tensorflow_io':
      imported.append(name)
      raise ImportError(name)
    return real_import(name, *args, **kwargs)

  monkeypatch.setattr(builtins, '__import__', fake_import)
  assert fileio.load_filesystem_plugins(
      ['--train_dir=/tmp/x', '--dataset_dir=gs://b/d', 'ram://y']) is None
  assert not imported
  with pytest.raises(OSError, match=r'^.*s3:// paths need the tensorflow-io'):
    fileio.load_filesystem_plugins(['--train_dir=s3://bucket/train'])
  assert imported == ['tensorflow_io']
