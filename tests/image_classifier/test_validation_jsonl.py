"""validation.jsonl on a local disk and on ram:// (as on gs://)."""
import json
import uuid

import pytest
import tensorflow as tf

from image_classifier import fileio
from image_classifier import validation


@pytest.fixture(params=['local', 'ram'])
def jsonl_path(request, tmp_path):
  if request.param == 'local':
    yield str(tmp_path / validation.JSONL_FILENAME)
    return
  root = f'ram://validation-jsonl-{uuid.uuid4().hex}'
  yield f'{root}/{validation.JSONL_FILENAME}'
  tf.io.gfile.rmtree(root)


def test_a_cut_last_line_is_dropped_and_complete_records_read(jsonl_path):
  assert validation.read_jsonl(jsonl_path) == []
  validation.repair_jsonl(jsonl_path)  # Nothing there: nothing to do.
  fileio.write_atomic(jsonl_path, '{"global_step": 1}\n{"global_st')
  assert validation.read_jsonl(jsonl_path) == [{'global_step': 1}]
  validation.repair_jsonl(jsonl_path)
  assert fileio.read_text(jsonl_path) == '{"global_step": 1}\n'
  fileio.append_text(jsonl_path, json.dumps({'global_step': 2}) + '\n')
  assert validation.read_jsonl(jsonl_path) == [{'global_step': 1},
                                               {'global_step': 2}]
