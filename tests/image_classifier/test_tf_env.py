"""TensorFlow's start-up notices and log chatter: filtered from every entry
point's stderr, everything else kept."""
import logging

import pytest

from image_classifier import cli
from image_classifier import tf_env
from tests import cli_harness as h

# What TensorFlow 2.21 wrote while loading on a machine without a GPU (its
# two shared libraries print the first three lines each), followed by lines
# that are not notices.
_LOADING = (
    'WARNING: All log messages before absl::InitializeLog() is called are '
    'written to STDERR\n'
    'I0000 00:00:1796008881.889468    2271 port.cc:153] oneDNN custom '
    'operations are on. You may see slightly different numerical results.\n'
    'I0000 00:00:1796008881.889851    2271 cudart_stub.cc:31] Could not find '
    'cuda drivers on your machine, GPU will not be used.\n'
    'WARNING: All log messages before absl::InitializeLog() is called are '
    'written to STDERR\n'
    'I0000 00:00:1796008884.090183    2271 port.cc:153] oneDNN custom '
    'operations are on. You may see slightly different numerical results.\n'
    'I0000 00:00:1796008884.090856    2271 cudart_stub.cc:31] Could not find '
    'cuda drivers on your machine, GPU will not be used.\n'
    'E0000 00:00:1796008884.329946    2271 cuda_platform.cc:52] failed call '
    'to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR '
    '(303)\n')

_OTHER = ('/x/site-packages/foo.py:3: UserWarning: something a user should '
          'see\n  warnings.warn(\n')

_NOTICE_WORDS = ('InitializeLog', 'oneDNN', 'cudart_stub', 'cuInit')


def test_the_notices_go_and_other_lines_stay_in_order():
  kept = tf_env.startup_lines_to_keep(_LOADING + _OTHER + _LOADING)
  assert kept == _OTHER


def test_a_line_written_twice_is_kept_once():
  assert tf_env.startup_lines_to_keep('a\nb\na\n') == 'a\nb\n'


def test_an_entry_point_prints_no_startup_notice(tmp_path):
  result = h.run_script('export_inference_graph.py', '--model_name=lenet',
                        f'--output_file={tmp_path / "lenet.pb"}',
                        tf_cpp_min_log_level=None)
  assert result.returncode == 0, result.stderr
  for word in _NOTICE_WORDS:
    assert word not in result.stderr, result.stderr


def test_tf_cpp_min_log_level_0_shows_everything(tmp_path):
  result = h.run_script('export_inference_graph.py', '--model_name=lenet',
                        f'--output_file={tmp_path / "lenet.pb"}',
                        tf_cpp_min_log_level='0')
  assert result.returncode == 0, result.stderr
  assert 'oneDNN custom operations are on' in result.stderr


def _tensorflow_log_lines_shown(verbosity, *messages):
  """The messages of `messages` that pass the 'tensorflow' logger's filters
  after cli.quiet_logs(verbosity)."""
  logger = logging.getLogger('tensorflow')
  saved = (list(logger.handlers), list(logger.filters))
  try:
    cli.quiet_logs(verbosity)
    return [m for m in messages
            if logger.filter(logger.makeRecord(
                'tensorflow', logging.INFO, '/x/functional_saver.py', 1, m,
                (), None))]
  finally:
    logger.handlers[:], logger.filters[:] = saved


def test_quiet_logs_hides_tensorflow_timings_unless_verbose():
  timing = 'Sharding callback duration: 41 microseconds'
  kept = 'Saving checkpoints for 3 into /tmp/x/model.ckpt.'
  assert _tensorflow_log_lines_shown(0, timing, kept) == [kept]
  assert _tensorflow_log_lines_shown(1, timing, kept) == [timing, kept]


def test_quiet_log_check_judges_only_our_log_lines():
  """TensorFlow logs equal timings twice in a row now and then; the
  quiet-log check must not take them for a repeat of ours (it did, and a
  fresh-clone run failed on it), and must still catch a repeat of ours."""
  prefix = 'I1207 10:39:32.822806 140196641442688 '
  theirs = prefix + 'functional_saver.py:51] Sharding callback duration: 10\n'
  ours = prefix + 'learning.py:464] global step 3: loss = 0.5\n'
  h.assert_quiet_logs(ours + theirs + theirs)
  assert h.our_log_messages(ours + theirs) == ['global step 3: loss = 0.5']
  with pytest.raises(AssertionError):
    h.assert_quiet_logs(theirs + ours + ours)
