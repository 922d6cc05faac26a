"""End-to-end tests of download_and_convert_data.py, run as a real process.

User errors must end with exactly one line `download_and_convert_data.py:
error: ...` on stderr, exit status 1 and no traceback. The script runs in a
subprocess (its absl flags stay out of the test process); downloads come from
a local HTTP server.
"""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from tests.datasets.archive_server import closed_port_url  # pylint: disable=unused-import
from tests.datasets.archive_server import server  # pylint: disable=unused-import

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'download_and_convert_data.py')
PREFIX = 'download_and_convert_data.py: error: '


def _run(*args, timeout=120):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, SCRIPT] + list(args), cwd=ROOT,
                        env=env, capture_output=True, text=True,
                        timeout=timeout)


def _user_error(result):
  """Asserts a one-line user error and returns its message."""
  assert result.returncode == 2, result.stderr
  assert 'Traceback' not in result.stderr, result.stderr
  lines = result.stderr.strip().splitlines()
  assert lines[-1].startswith(PREFIX), result.stderr
  assert sum(PREFIX in line for line in lines) == 1
  return lines[-1][len(PREFIX):]


def test_help_lists_old_and_new_flags():
  result = _run('--help')  # absl exits 1 after printing the help.
  assert 'Traceback' not in result.stderr
  for flag in ('dataset_name', 'dataset_dir', 'small_object_area_threshold',
               'foreground_class_of_interest', 'mirror', 'verify_checksums',
               'source_dir', 'validation_fraction', 'num_shards', 'seed',
               'num_workers', 'imagenet_train_tar', 'coco_dir'):
    assert flag + ':' in result.stdout


def test_unknown_dataset_name_lists_the_valid_ones(tmp_path):
  message = _user_error(_run('--dataset_name=flower',
                             '--dataset_dir=%s' % tmp_path))
  assert "unknown --dataset_name='flower'" in message
  for name in ('cifar10', 'custom', 'flowers', 'imagenet', 'mnist', 'shapes',
               'visualwakewords'):
    assert name in message


def test_missing_dataset_dir():
  assert '--dataset_dir' in _user_error(_run('--dataset_name=shapes'))


def test_missing_source_dir(tmp_path):
  message = _user_error(_run('--dataset_name=custom',
                             '--dataset_dir=%s' % tmp_path))
  assert '--source_dir is required' in message


def test_empty_source_folder(tmp_path):
  (tmp_path / 'photos').mkdir()
  message = _user_error(_run('--dataset_name=custom',
                             '--source_dir=%s' % (tmp_path / 'photos'),
                             '--dataset_dir=%s' % (tmp_path / 'out')))
  assert 'has no class subfolders' in message


def test_no_network(closed_port_url, tmp_path):
  message = _user_error(_run('--dataset_name=flowers',
                             '--dataset_dir=%s' % tmp_path,
                             '--mirror=' + closed_port_url,
                             '--download_retries=0'))
  assert 'could not download' in message and 'connection refused' in message


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
  server.add('flower_photos.tgz', b'not the real archive')
  message = _user_error(_run('--dataset_name=flowers',
                             '--dataset_dir=%s' % tmp_path,
                             '--mirror=' + server.url))
  assert 'checksum mismatch' in message
  assert os.listdir(tmp_path) == []


def test_disk_full(server, tmp_path):
  server.add('train-images-idx3-ubyte.gz', b'x' * 200_000)
  # The partial download leads to /dev/full, where every write fails ENOSPC.
  os.symlink('/dev/full', tmp_path / 'train-images-idx3-ubyte.gz.part')
  message = _user_error(_run('--dataset_name=mnist',
                             '--dataset_dir=%s' % tmp_path,
                             '--mirror=' + server.url))
  assert message.startswith('disk full')


def test_shapes_end_to_end(tmp_path):
  result = _run('--dataset_name=shapes', '--dataset_dir=%s' % tmp_path,
                '--seed=1')
  assert result.returncode == 0, result.stderr
  assert 'images/sec' in result.stderr
  meta = json.loads((tmp_path / 'dataset_meta.json').read_text())
  assert meta['splits'] == {'train': 2500, 'validation': 500}
  assert meta['num_classes'] == 5
  assert sorted(os.listdir(tmp_path)) == [
      'dataset_meta.json', 'labels.txt',
      'shapes_train_00000-of-00002.tfrecord',
      'shapes_train_00001-of-00002.tfrecord',
      'shapes_validation_00000-of-00001.tfrecord']


def test_label_csv_end_to_end_and_its_errors(tmp_path):
  _make_custom_folder(tmp_path / 'photos')
  csv_path = tmp_path / 'photos' / 'labels.csv'
  csv_path.write_text('filename,labels\n' + ''.join(
      '%s/%d.png,%s\n' % (name, i, labels) for i in range(6)
      for name, labels in (('dark', 'dark'), ('light', 'light bright'))))
  result = _run('--dataset_name=custom', '--source_csv=%s' % csv_path,
                '--dataset_dir=%s' % (tmp_path / 'data'))
  assert result.returncode == 0, result.stderr
  meta = json.loads((tmp_path / 'data' / 'dataset_meta.json').read_text())
  assert meta['multi_label'] and meta['num_classes'] == 3
  assert sum(meta['splits'].values()) == 12
  message = _user_error(_run(
      '--dataset_name=custom', '--source_csv=%s' % csv_path,
      '--source_dir=%s' % (tmp_path / 'photos'),
      '--dataset_dir=%s' % (tmp_path / 'other')))
  assert message.startswith('--source_dir and --source_csv cannot be used '
                            'together')
  assert not (tmp_path / 'other').exists()


def _make_custom_folder(root):
  rng = np.random.default_rng(0)
  for label, name in enumerate(['dark', 'light']):
    (root / name).mkdir(parents=True)
    for i in range(6):
      pixels = rng.integers(0, 100, (32, 32, 3)) + 150 * label
      Image.fromarray(pixels.astype(np.uint8)).save(root / name /
                                                    ('%d.png' % i))


@pytest.mark.slow
@pytest.mark.skipif(
    not all(os.path.exists(os.path.join(ROOT, s)) for s in (
        'train_image_classifier.py', 'eval_image_classifier.py')),
    reason='the training and evaluation scripts are not there yet')
def test_custom_dataset_trains_and_evaluates_through_the_clis(tmp_path):
  _make_custom_folder(tmp_path / 'photos')
  data = tmp_path / 'data'
  result = _run('--dataset_name=custom', '--source_dir=%s' % (
      tmp_path / 'photos'), '--dataset_dir=%s' % data,
                '--validation_fraction=0.34')
  assert result.returncode == 0, result.stderr
  common = ['--dataset_name=custom', '--dataset_dir=%s' % data,
            '--model_name=lenet', '--batch_size=4']
  train = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'train_image_classifier.py'),
       '--train_dir=%s' % (tmp_path / 'train'), '--max_number_of_steps=2',
       '--dataset_split_name=train'] + common,
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert train.returncode == 0, train.stderr[-3000:]
  evaluate = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'eval_image_classifier.py'),
       '--checkpoint_path=%s' % (tmp_path / 'train'),
       '--eval_dir=%s' % (tmp_path / 'eval'),
       '--dataset_split_name=validation'] + common,
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert evaluate.returncode == 0, evaluate.stderr[-3000:]
  metrics = json.loads((tmp_path / 'eval' / 'metrics.json').read_text())
  assert 0.0 <= metrics['Accuracy'] <= 1.0
  assert metrics['global_step'] == 2
