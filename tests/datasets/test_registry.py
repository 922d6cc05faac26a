"""Tests for datasets/registry.py, the one record per dataset.

The factory and download_and_convert_data.py must accept exactly the
recorded names, pass each converter exactly the flags its record lists, and
a record whose module, `run` keyword or flag is missing must be caught.
"""
import dataclasses
import glob
import os
import re

import pytest

from datasets import dataset_factory
from datasets import registry
from datasets.errors import DatasetError
from tests import cli_harness

NAMES = ['cifar10', 'custom', 'flowers', 'imagenet', 'mnist', 'shapes',
         'shapes_multi', 'visualwakewords']


def _convert_values(**overrides):
  """download_and_convert_data.py's flag defaults plus `overrides`."""
  return vars(cli_harness.flag_values('download_and_convert_data',
                                      **overrides))


@pytest.fixture
def captured_runs(monkeypatch):
  """Replaces every converter by one that records its keyword arguments."""
  calls = []

  class FakeConverter:

    @staticmethod
    def run(**kwargs):
      calls.append(kwargs)

  monkeypatch.setattr(registry.DatasetRecord, 'converter',
                      lambda record: FakeConverter)
  return calls


def test_factory_and_converter_script_accept_the_recorded_names(
    captured_runs, tmp_path):
  assert list(registry.NAMES) == NAMES
  assert sorted(dataset_factory.datasets_map) == NAMES
  script = cli_harness.script_module('download_and_convert_data')
  for name in NAMES:
    script.convert(_convert_values(dataset_name=name,
                                   dataset_dir=str(tmp_path),
                                   source_dir=str(tmp_path)))
  assert len(captured_runs) == len(NAMES)
  with pytest.raises(DatasetError, match=r"unknown --dataset_name='flower'; "
                     'valid names: ' + ', '.join(NAMES)):
    script.convert(_convert_values(dataset_name='flower',
                                   dataset_dir=str(tmp_path)))


def test_dataset_name_help_lists_the_recorded_names():
  script = cli_harness.script_module('download_and_convert_data')
  assert script.FLAGS['dataset_name'].help.endswith(', '.join(NAMES) + '.')


def test_every_descriptor_module_is_recorded():
  root = os.path.dirname(os.path.abspath(registry.__file__))
  described = set()
  for path in glob.glob(os.path.join(root, '*.py')):
    with open(path) as f:
      if re.search(r'^DESCRIPTOR = ', f.read(), re.MULTILINE):
        described.add('datasets.' + os.path.basename(path)[:-3])
  assert described == {r.descriptor_module for r in registry.DATASETS}


@pytest.mark.parametrize('name', NAMES)
def test_record_is_sound(name):
  flag_names = set(_convert_values())
  assert registry.record_problems(registry.get_record(name), flag_names) == []


def test_record_without_converter_or_descriptor_is_caught():
  flag_names = set(_convert_values())
  shapes = registry.get_record('shapes')

  def problems(**changes):
    return registry.record_problems(dataclasses.replace(shapes, **changes),
                                    flag_names)

  [problem] = problems(converter_module='datasets.no_such_converter')
  assert 'no converter run' in problem and 'no_such_converter' in problem
  [problem] = problems(name='other',
                       descriptor_module='datasets.no_such_dataset')
  assert 'no descriptor module' in problem
  assert problems(name='other') == [
      "other: datasets.shapes describes 'shapes'"]
  assert problems(descriptor_module='datasets.errors') == [
      'shapes: datasets.errors has no get_split']
  [problem] = problems(converter_flags=shapes.converter_flags + (
      ('mirror', 'mirror'),))
  assert 'convert_shapes.run does not take' in problem and 'mirror' in problem
  assert problems(required_flags=(('shapes_count', 'pass a number'),)) == [
      'shapes: no flag --shapes_count']


def test_converter_arguments_map_flags_to_run_keywords(tmp_path):
  values = _convert_values(
      dataset_dir=str(tmp_path), imagenet_train_tar='train.tar',
      imagenet_val_tar='val.tar', imagenet_val_labels='labels.txt',
      imagenet_bbox='bbox.tar.gz', imagenet_metadata='meta.txt', seed=3,
      mirror='http://m/', download_retries=1)
  assert registry.get_record('imagenet').converter_arguments(values) == {
      'dataset_dir': str(tmp_path), 'num_workers': None,
      'train_path': 'train.tar', 'validation_path': 'val.tar',
      'validation_labels': 'labels.txt', 'bbox_sources': 'bbox.tar.gz',
      'metadata_path': 'meta.txt', 'train_shards': 1024,
      'validation_shards': 128, 'seed': 3}
  assert registry.get_record('flowers').converter_arguments(values) == {
      'dataset_dir': str(tmp_path), 'num_workers': None,
      'mirror': 'http://m/', 'verify_checksums': True, 'retries': 1,
      'scratch_dir': None, 'seed': 3}


def test_custom_without_source_dir_says_what_to_pass(tmp_path):
  values = _convert_values(dataset_dir=str(tmp_path))
  with pytest.raises(DatasetError, match=r'^--source_dir is required with '
                     r'--dataset_name=custom: pass a folder with one '
                     r'subfolder of images per class$'):
    registry.get_record('custom').converter_arguments(values)


def test_custom_takes_source_csv_in_place_of_source_dir(tmp_path):
  values = _convert_values(dataset_dir=str(tmp_path), source_csv='l.csv',
                           labels_file='classes.txt')
  arguments = registry.get_record('custom').converter_arguments(values)
  assert arguments['source_csv'] == 'l.csv' and arguments['source_dir'] is None
  assert arguments['labels_file'] == 'classes.txt'
