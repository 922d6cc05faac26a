"""Tests of datasets/extract.py: safe extraction of tar and zip archives."""
import io
import os
import tarfile
import zipfile

import pytest

from tests.datasets.archive_server import tar_bytes
from datasets import extract
from datasets.errors import DatasetError


def _write(tmp_path, data, name='archive.tgz'):
  path = tmp_path / name
  path.write_bytes(data)
  return str(path)


def _link(name, target, kind=tarfile.SYMTYPE):
  info = tarfile.TarInfo(name)
  info.type = kind
  info.linkname = target
  return info


def _special(name, kind):
  info = tarfile.TarInfo(name)
  info.type = kind
  return info


def test_extracts_members_and_leaves_no_staging_folder(tmp_path):
  archive = _write(tmp_path, tar_bytes({
      'top/a.txt': b'alpha', 'top/sub/b.bin': b'\x00\x01', 'c.txt': b'gamma',
      'top/link': _link('top/link', 'a.txt')}))
  target = tmp_path / 'out'
  names = extract.safe_extract(archive, str(target))
  assert names == ['c.txt', 'top']
  assert (target / 'top' / 'a.txt').read_bytes() == b'alpha'
  assert (target / 'top' / 'sub' / 'b.bin').read_bytes() == b'\x00\x01'
  assert (target / 'top' / 'link').read_bytes() == b'alpha'
  assert sorted(os.listdir(target)) == ['c.txt', 'top']


def test_replaces_an_earlier_extraction(tmp_path):
  target = tmp_path / 'out'
  (target / 'top').mkdir(parents=True)
  (target / 'top' / 'stale.txt').write_bytes(b'old')
  archive = _write(tmp_path, tar_bytes({'top/a.txt': b'new'}))
  extract.safe_extract(archive, str(target))
  assert os.listdir(target / 'top') == ['a.txt']


@pytest.mark.parametrize('member, reason', [
    ('../evil.txt', "'..'"),
    ('top/../../evil.txt', "'..'"),
    (None, 'absolute path'),  # Filled in with an absolute path below.
])
def test_refuses_paths_leaving_the_target(tmp_path, member, reason):
  outside = tmp_path / 'evil.txt'
  if member is None:
    member = str(outside)
  archive = _write(tmp_path, tar_bytes({'ok.txt': b'fine', member: b'pwned'}))
  target = tmp_path / 'deep' / 'out'
  with pytest.raises(DatasetError) as info:
    extract.safe_extract(archive, str(target))
  assert reason in str(info.value)
  assert 'nothing was extracted' in str(info.value)
  assert not outside.exists()
  assert not (tmp_path / 'deep' / 'evil.txt').exists()
  assert os.listdir(target) == []  # Not even the safe member.


@pytest.mark.parametrize('link', [
    _link('top/escape', '../../outside'),
    _link('top/escape', '/etc/passwd'),
    _link('top/hard', '../outside', tarfile.LNKTYPE),
])
def test_refuses_links_pointing_outside(tmp_path, link):
  archive = _write(tmp_path, tar_bytes({'top/a.txt': b'a', link.name: link}))
  target = tmp_path / 'out'
  with pytest.raises(DatasetError, match='outside the archive'):
    extract.safe_extract(archive, str(target))
  assert os.listdir(target) == []


@pytest.mark.parametrize('kind, reason', [
    (tarfile.CHRTYPE, 'device file'),
    (tarfile.BLKTYPE, 'device file'),
    (tarfile.FIFOTYPE, 'FIFO'),
])
def test_refuses_device_files(tmp_path, kind, reason):
  archive = _write(tmp_path, tar_bytes({'dev': _special('dev', kind)}))
  with pytest.raises(DatasetError, match=reason):
    extract.safe_extract(archive, str(tmp_path / 'out'))


def test_zip_archives_are_checked_too(tmp_path):
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    archive.writestr('good/a.txt', b'a')
  path = _write(tmp_path, buffer.getvalue(), 'good.zip')
  extract.safe_extract(path, str(tmp_path / 'out'))
  assert (tmp_path / 'out' / 'good' / 'a.txt').read_bytes() == b'a'

  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    archive.writestr('../evil.txt', b'pwned')
  path = _write(tmp_path, buffer.getvalue(), 'evil.zip')
  with pytest.raises(DatasetError, match="'..'"):
    extract.safe_extract(path, str(tmp_path / 'zout'))
  assert not (tmp_path / 'evil.txt').exists()


def test_corrupt_archive_is_a_clear_error(tmp_path):
  data = tar_bytes({'a.txt': b'x' * 10000})
  path = _write(tmp_path, data[:len(data) // 2])
  with pytest.raises(DatasetError, match='download it again'):
    extract.safe_extract(path, str(tmp_path / 'out'))
