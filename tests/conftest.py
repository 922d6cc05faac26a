"""Shared test set-up: the repository root and compat/ on sys.path, graph mode,
and the fixtures several test files share."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPAT = os.path.join(ROOT, 'compat')
for path in (ROOT, COMPAT):
  if path not in sys.path:
    sys.path.insert(0, path)

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


# ---------------------------------------------------- made once per session
# tests/cifarnet_checkpoints.py imports TensorFlow and the scripts' harness
# (absl flags), so it is imported when a test first asks for these, not here.
@pytest.fixture(scope='session')
def shapes_data(tmp_path_factory):
  """The shapes dataset of cifarnet_checkpoints.SHAPES_SPLITS (read only)."""
  from tests import cifarnet_checkpoints  # pylint: disable=import-outside-toplevel
  return cifarnet_checkpoints.make_shapes(tmp_path_factory.mktemp('shapes'))


@pytest.fixture(scope='session')
def trained_cifarnet(shapes_data, tmp_path_factory):
  """The train_dir of CifarNet trained on `shapes_data` with
  cifarnet_checkpoints.FLOAT_RUN (~0.8 validation accuracy). Tests share it:
  read it, fine-tune from it, never write into it."""
  from tests import cifarnet_checkpoints  # pylint: disable=import-outside-toplevel
  return cifarnet_checkpoints.train_cifarnet(
      shapes_data, tmp_path_factory.mktemp('cifarnet'))


@pytest.fixture(scope='session')
def random_cifarnet(tmp_path_factory):
  """The checkpoint path of cifarnet_checkpoints.save_random_cifarnet (read
  only; its directory holds nothing else)."""
  from tests import cifarnet_checkpoints  # pylint: disable=import-outside-toplevel
  return cifarnet_checkpoints.save_random_cifarnet(
      tmp_path_factory.mktemp('random_cifarnet'))


# Tests marked `heavy` (full-size parity of the larger members of a network
# family, multi-process accuracy runs) repeat code the default run already
# covers with a smaller member or a shorter run; they run with
# SLIM_HEAVY_TESTS=1 (`make test-heavy`), keeping `make test` in budget.
HEAVY_TESTS = os.environ.get('SLIM_HEAVY_TESTS') == '1'


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
  if HEAVY_TESTS:
    return
  skip = pytest.mark.skip(reason='heavy: SLIM_HEAVY_TESTS=1 (make '
                          'test-heavy) runs it')
  for item in items:
    if 'heavy' in item.keywords:
      item.add_marker(skip)
