"""image_classifier/checkpoint_stream: one checkpoint, or a training
directory followed, and who is an evaluator."""
import json

import pytest

from image_classifier import checkpoint_stream
from image_classifier import cli


def _tf_config(task_type):
  return json.dumps({'cluster': {'worker': ['127.0.0.1:1']},
                     'task': {'type': task_type, 'index': 0}})


def test_is_evaluator_task():
  assert checkpoint_stream.is_evaluator_task(_tf_config('evaluator'))
  assert not checkpoint_stream.is_evaluator_task(_tf_config('worker'))
  assert not checkpoint_stream.is_evaluator_task('')
  with pytest.raises(cli.UserError, match='TF_CONFIG'):
    checkpoint_stream.is_evaluator_task('{"cluster": 1')


def test_waiting_takes_a_directory_or_nothing_yet(tmp_path):
  # A directory the chief has not created yet: waited for, here 0 s.
  assert list(checkpoint_stream.checkpoints_to_evaluate(
      str(tmp_path / 'not_yet'), wait=True, timeout_secs=0)) == []
  a_file = tmp_path / 'a_file'
  a_file.write_text('x')
  with pytest.raises(cli.UserError, match='is not a directory'):
    list(checkpoint_stream.checkpoints_to_evaluate(str(a_file), wait=True))
  (tmp_path / 'model.ckpt-3.index').write_text('x')
  with pytest.raises(cli.UserError, match='is not a directory'):
    list(checkpoint_stream.checkpoints_to_evaluate(
        str(tmp_path / 'model.ckpt-3'), wait=True))


def test_one_checkpoint_without_waiting(tmp_path):
  with pytest.raises(cli.UserError, match='--checkpoint_path'):
    list(checkpoint_stream.checkpoints_to_evaluate(str(tmp_path / 'none'),
                                                   wait=False))
