"""Tests of tools/download_checkpoint.py against a local HTTP server.

The published tarballs are stood in for by small ones served on 127.0.0.1
under the same file names (--mirror).
"""
import json
import os

import pytest

from tests import cli_harness
from tests.datasets.archive_server import path_max_escape_members
from tests.datasets.archive_server import server  # pylint: disable=unused-import
from tests.datasets.archive_server import sha256
from tests.datasets.archive_server import tar_bytes
from tests.datasets.archive_server import tar_link
from datasets.errors import DatasetError

SCRIPT = 'tools/download_checkpoint.py'
NAME = 'inception_v3'
CKPT_BYTES = os.urandom(5000)


def _tool():
  return cli_harness.script_module('tools.download_checkpoint')


def _record():
  return _tool().CHECKPOINTS[NAME]


def _tarball_name():
  return _record().url.rsplit('/', 1)[-1]


def _serve(server, members):
  """Serves `members` as the checkpoint's tarball; returns its SHA-256."""
  return server.add(_tarball_name(), tar_bytes(members))


def _user_checkpoint_dir(tmp_path):
  """A checkpoint folder already holding some of the user's files."""
  checkpoint_dir = tmp_path / 'checkpoints'
  (checkpoint_dir / 'my_run').mkdir(parents=True)
  (checkpoint_dir / 'my_run' / 'model.ckpt-10.index').write_bytes(b'mine')
  return checkpoint_dir


def test_unpinned_download_installs_the_checkpoint_and_prints_its_sha256(
    server, tmp_path, capsys):
  digest = _serve(server, {_record().file: CKPT_BYTES,
                           'train.graph': b'not a checkpoint file'})
  checkpoint_dir = _user_checkpoint_dir(tmp_path)
  before = cli_harness.file_hashes(checkpoint_dir, folders=True)
  path = _tool().download_checkpoint(NAME, str(checkpoint_dir),
                                     mirror=server.url)
  assert path == str(checkpoint_dir / _record().file)
  with open(path, 'rb') as f:
    assert f.read() == CKPT_BYTES
  # Only the checkpoint (and the tarball's recorded SHA-256) is added; the
  # tarball and its other files are not.
  record = _tool().RECORD_FILE
  after = cli_harness.file_hashes(checkpoint_dir, folders=True)
  assert after == dict(before, **{_record().file: sha256(CKPT_BYTES),
                                  record: after[record]})
  with open(checkpoint_dir / record) as f:
    assert json.load(f) == {_tarball_name(): digest}
  lines = capsys.readouterr().err.splitlines()
  assert (f'sha256 of {_tarball_name()}: {digest} (recorded in {record}, '
          f'checked at its next download); pass --sha256={digest} to pin '
          'it elsewhere') in lines
  # Already there: nothing is downloaded again.
  server.requests.clear()
  assert _tool().download_checkpoint(NAME, str(checkpoint_dir),
                                     mirror=server.url) == path
  assert server.requests == []


def test_a_tarball_that_changed_since_its_first_download_is_refused(
    server, tmp_path):
  """Trust on first use: the SHA-256 recorded at the first download is
  checked when the same tarball is downloaded into that folder again."""
  _serve(server, {_record().file: CKPT_BYTES})
  checkpoint_dir = tmp_path / 'checkpoints'
  path = _tool().download_checkpoint(NAME, str(checkpoint_dir),
                                     mirror=server.url)
  os.remove(path)  # the user deletes it, and downloads it again later
  _serve(server, {_record().file: b'other weights'})
  before = cli_harness.file_hashes(checkpoint_dir, folders=True)
  with pytest.raises(DatasetError) as info:
    _tool().download_checkpoint(NAME, str(checkpoint_dir), mirror=server.url)
  assert 'checksum mismatch' in str(info.value)
  assert 'It changed since its first download (recorded in' in str(
      info.value)
  assert cli_harness.file_hashes(checkpoint_dir, folders=True) == before


def test_pinned_download_of_a_v2_checkpoint(server, tmp_path, capsys):
  ckpt = _record().file
  digest = _serve(server, {ckpt + '.index': b'index',
                           ckpt + '.data-00000-of-00001': CKPT_BYTES})
  path = _tool().download_checkpoint(NAME, str(tmp_path), mirror=server.url,
                                     sha256=digest.upper())
  assert sorted(os.listdir(tmp_path)) == [ckpt + '.data-00000-of-00001',
                                          ckpt + '.index']
  assert path == str(tmp_path / ckpt)
  assert 'sha256 of' not in capsys.readouterr().err


def test_the_records_sha256_is_checked(server, tmp_path, monkeypatch):
  _serve(server, {_record().file: CKPT_BYTES})
  tool = _tool()
  wrong = sha256(b'another tarball')
  monkeypatch.setitem(tool.CHECKPOINTS, NAME, _record()._replace(
      sha256=wrong))
  with pytest.raises(DatasetError) as info:
    tool.download_checkpoint(NAME, str(tmp_path), mirror=server.url)
  assert wrong in str(info.value) and 'Check --mirror' in str(info.value)
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('members, fragment', [
    ({'inception_v3.ckpt': CKPT_BYTES,
      'alias': tar_link('alias', 'inception_v3.ckpt')},
     "'alias' is a symbolic link; a checkpoint tarball holds only files"),
    ({'nested/inception_v3.ckpt': CKPT_BYTES},
     'holds no inception_v3.ckpt (nor inception_v3.ckpt.index with'),
    ({'inception_v3.ckpt.index': b'index'}, 'holds no inception_v3.ckpt'),
])
def test_unexpected_members_are_refused(server, tmp_path, members, fragment):
  _serve(server, members)
  with pytest.raises(DatasetError) as info:
    _tool().download_checkpoint(NAME, str(tmp_path), mirror=server.url)
  message = str(info.value)
  assert fragment in message and 'nothing was extracted' in message
  assert f'{_tarball_name()} was deleted' in message
  assert os.listdir(tmp_path) == []


def _run(checkpoint_dir, *args):
  return cli_harness.run_script(SCRIPT, f'--checkpoint={NAME}',
                                f'--checkpoint_dir={checkpoint_dir}', *args)


def test_wrong_sha256_is_one_line_and_changes_nothing(server, tmp_path):
  digest = _serve(server, {_record().file: CKPT_BYTES})
  checkpoint_dir = _user_checkpoint_dir(tmp_path)
  before = cli_harness.file_hashes(checkpoint_dir, folders=True)
  wrong = sha256(b'pinned for another tarball')
  result = _run(checkpoint_dir, f'--mirror={server.url}', f'--sha256={wrong}')
  message = cli_harness.user_error(result, SCRIPT)
  assert 'checksum mismatch' in message
  assert wrong in message and digest in message
  assert 'the file was deleted. Check --sha256 and --mirror' in message
  assert result.stdout == ''
  assert cli_harness.file_hashes(checkpoint_dir, folders=True) == before


def test_malformed_sha256_is_refused_before_downloading(server, tmp_path):
  _serve(server, {_record().file: CKPT_BYTES})
  message = cli_harness.user_error(
      _run(tmp_path / 'c', f'--mirror={server.url}', '--sha256=abc123'),
      SCRIPT)
  assert message == ("--sha256 must be a SHA-256, 64 hexadecimal digits; "
                     "received 'abc123'")
  assert server.requests == []
  assert not (tmp_path / 'c').exists()


def test_path_max_symlink_chain_over_plain_http_is_refused(server, tmp_path):
  """The CVE-2025-4517 tarball, served over http with no checksum: it
  would write pwned.ckpt beside --checkpoint_dir (two levels above the
  staging folder inside it)."""
  members = path_max_escape_members(climb=2, payload_name='pwned.ckpt')
  _serve(server, [(_record().file, CKPT_BYTES)] + members)
  checkpoint_dir = _user_checkpoint_dir(tmp_path)
  before = cli_harness.file_hashes(tmp_path, folders=True)
  result = _run(checkpoint_dir, f'--mirror={server.url}')
  message = cli_harness.user_error(result, SCRIPT)
  assert 'goes through the symbolic link' in message
  assert 'nothing was extracted' in message
  assert cli_harness.file_hashes(tmp_path, folders=True) == before  # Inside and outside: tarball deleted.
  assert 'sha256 of' not in result.stderr


# ------------------------------------------------- every published weight


def _listing_lines():
  result = cli_harness.run_script(SCRIPT, '--list')
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  return result.stdout.splitlines()


def test_list_prints_one_line_per_published_weight():
  from tests.nets.test_registry import _seed_rows  # pylint: disable=g-import-not-at-top
  records = _tool().CHECKPOINTS
  lines = _listing_lines()
  # Then the Keras weights (tests/tools/test_download_keras_checkpoint.py).
  assert len(lines) == len(records) + len(_tool().KERAS_CHECKPOINTS)
  by_name = {line.split()[0]: line for line in lines[:len(records)]}
  assert list(by_name) == list(records)
  for name, record in records.items():
    line = by_name[name]
    assert line.endswith('  ' + record.url)
    if record.network_kwargs:
      assert f'no --model_name: {record.model_name} with' in line
    else:
      assert f'--model_name={record.model_name}' in line.split()
  # The README's rows with their figures and source; none for the others.
  seed_rows = [row for row in _seed_rows() if row[1]]
  with_figures = [line for line in lines if 'top-1 ' in line]
  assert len(with_figures) == len(seed_rows) == 21
  for _, tarball, top1, top5 in seed_rows:
    name = _tool().registry.find_checkpoint(tarball)
    assert (f'top-1 {top1:.1f} top-5 {top5:.1f} (image-models README)'
            in by_name[name])
  assert sum('top-1/top-5 not listed' in line for line in lines) == (
      len(records) - 21)
  quant_line = by_name['mobilenet_v1_0.50_160_quant']
  assert ('--model_name=mobilenet_v1_050 --eval_image_size=160 --quantize'
          in quant_line)


def test_quantized_mobilenet_by_its_tarball_name_installs_only_the_checkpoint(
    server, tmp_path):
  """A MobileNet tarball also holds a frozen graph, a .tflite and an info
  file: only the checkpoint is installed."""
  name = 'mobilenet_v1_0.50_160_quant'
  record = _tool().CHECKPOINTS[name]
  tarball = _tool().registry.tarball_name(record)
  stem = record.file[:-len('.ckpt')]
  server.add(tarball, tar_bytes({
      f'./{record.file}.index': b'index',
      f'./{record.file}.data-00000-of-00001': CKPT_BYTES,
      f'./{record.file}.meta': b'meta',
      f'./{stem}_frozen.pb': b'graph', f'./{stem}.tflite': b'tflite',
      f'./{stem}_info.txt': b'info'}))
  path = _tool().download_checkpoint(tarball, str(tmp_path),
                                     mirror=server.url)
  assert path == str(tmp_path / record.file)
  assert sorted(os.listdir(tmp_path)) == sorted(
      [record.file + suffix for suffix in
       ('.index', '.data-00000-of-00001', '.meta')] + [_tool().RECORD_FILE])


def test_weights_sharing_a_file_name_install_in_folders_of_their_own(
    server, tmp_path):
  tool = _tool()
  installed = {}
  for name in ('nasnet-a_mobile', 'pnasnet-5_large'):
    record = tool.CHECKPOINTS[name]
    data = os.urandom(300)
    server.add(tool.registry.tarball_name(record), tar_bytes({
        'model.ckpt.index': b'index', 'model.ckpt.data-00000-of-00001': data}))
    path = tool.download_checkpoint(name, str(tmp_path), mirror=server.url)
    assert path == str(tmp_path / name / 'model.ckpt')
    installed[name] = data
  assert sorted(os.listdir(tmp_path)) == sorted(
      list(installed) + [tool.RECORD_FILE])
  for name, data in installed.items():
    with open(tmp_path / name / 'model.ckpt.data-00000-of-00001', 'rb') as f:
      assert f.read() == data


def test_a_refused_tarball_leaves_no_folder(server, tmp_path):
  tool = _tool()
  record = tool.CHECKPOINTS['nasnet-a_large']
  server.add(tool.registry.tarball_name(record),
             tar_bytes({'nasnet/model.ckpt.index': b'index'}))
  checkpoint_dir = _user_checkpoint_dir(tmp_path)
  before = cli_harness.file_hashes(checkpoint_dir, folders=True)
  with pytest.raises(DatasetError) as info:
    tool.download_checkpoint('nasnet-a_large', str(checkpoint_dir),
                             mirror=server.url)
  assert 'holds no model.ckpt' in str(info.value)
  assert cli_harness.file_hashes(checkpoint_dir, folders=True) == before


def test_unknown_name_is_one_line_with_suggestions(server, tmp_path):
  result = cli_harness.run_script(SCRIPT, '--checkpoint=mobilenet_v1_0.5_16',
                                  f'--checkpoint_dir={tmp_path / "c"}',
                                  f'--mirror={server.url}')
  message = cli_harness.user_error(result, SCRIPT)
  assert message.startswith('--checkpoint=mobilenet_v1_0.5_16 names no '
                            'published weights. Did you mean ')
  assert 'mobilenet_v1_0.50_160' in message
  names = len(_tool().CHECKPOINTS) + len(_tool().KERAS_CHECKPOINTS)
  assert message.endswith(f'--list prints the {names} names.')
  assert server.requests == [] and not (tmp_path / 'c').exists()
