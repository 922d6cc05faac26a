"""Tests for flag_groups/common_flags.py: flags defined once, per script.

The shared flags keep each script's original defaults, and, run as a
script (`__name__ == '__main__'`), are shown by its --help: absl files a
script's flags under its path, not under '__main__'.
"""
import os
import re
import subprocess
import sys

import pytest

from tests import cli_harness as h

# Shared flag -> its default in each script that has it (the originals').
SHARED_DEFAULTS = {
    'dataset_name': {'train_image_classifier': 'imagenet',
                     'eval_image_classifier': 'imagenet',
                     'export_inference_graph': 'imagenet',
                     'classify_images': None},
    'dataset_dir': {'train_image_classifier': None,
                    'eval_image_classifier': None,
                    'export_inference_graph': '', 'classify_images': None},
    'dataset_split_name': {'train_image_classifier': 'train',
                           'eval_image_classifier': 'test'},
    'labels_offset': dict.fromkeys(
        ['train_image_classifier', 'eval_image_classifier',
         'export_inference_graph', 'classify_images'], 0),
    'model_name': {'train_image_classifier': 'inception_v3',
                   'eval_image_classifier': 'inception_v3',
                   'export_inference_graph': 'inception_v3',
                   'classify_images': None},
    'preprocessing_name': dict.fromkeys(
        ['train_image_classifier', 'eval_image_classifier',
         'classify_images'], None),
    'use_grayscale': dict.fromkeys(
        ['train_image_classifier', 'eval_image_classifier',
         'export_inference_graph', 'classify_images'], False),
    'moving_average_decay': dict.fromkeys(
        ['train_image_classifier', 'eval_image_classifier',
         'classify_images'], None),
    'quantize': dict.fromkeys(
        ['eval_image_classifier', 'export_inference_graph',
         'classify_images'], False),
    'num_preprocessing_threads': {'train_image_classifier': 4,
                                  'eval_image_classifier': 4},
    'batch_size': {'train_image_classifier': 32,
                   'eval_image_classifier': 100,
                   'export_inference_graph': None, 'classify_images': 32},
    'train_image_size': {'train_image_classifier': None},
    'eval_image_size': {'eval_image_classifier': None},
    'image_size': {'export_inference_graph': None, 'classify_images': None},
}
SCRIPTS = ('train_image_classifier', 'eval_image_classifier',
           'export_inference_graph', 'classify_images')


@pytest.mark.parametrize('script', SCRIPTS)
def test_each_script_keeps_its_defaults(script):
  values = vars(h.flag_values(script))
  for name, defaults in SHARED_DEFAULTS.items():
    if script in defaults:
      assert values[name] == defaults[script], (script, name)
    else:
      assert name not in values, (script, name)


@pytest.mark.parametrize('script', SCRIPTS)
def test_help_of_the_script_shows_the_shared_flags(script):
  result = subprocess.run(
      [sys.executable, os.path.join(h.ROOT, script + '.py'), '--help'],
      cwd=h.ROOT, capture_output=True, text=True, timeout=120,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  listed = set(re.findall(r'^  --(?:\[no\])?(\w+):', result.stdout,
                          re.MULTILINE))
  expected = {name for name, defaults in SHARED_DEFAULTS.items()
              if script in defaults}
  assert expected <= listed, expected - listed
  if script != 'classify_images':  # It runs saved models as they were.
    assert 'precision' in listed
