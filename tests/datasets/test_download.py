"""Tests of datasets/download.py against a local HTTP server."""
import os

import pytest

from tests.datasets.archive_server import closed_port_url  # pylint: disable=unused-import
from tests.datasets.archive_server import server  # pylint: disable=unused-import
from tests.datasets.archive_server import sha256
from datasets import download
from datasets.errors import DatasetError

PAYLOAD = os.urandom(300_000)  # Several chunks of the server's stream.
URL = 'https://example.invalid/some/path/archive.tgz'


def _fetch(server, dest_dir, **kwargs):
  kwargs.setdefault('sha256', sha256(PAYLOAD))
  return download.download_file(URL, str(dest_dir), mirror=server.url,
                                backoff_seconds=0, progress=False, **kwargs)


def test_resolve_url_replaces_everything_before_the_file_name():
  assert download.resolve_url(URL, None) == URL
  assert (download.resolve_url(URL, 'http://127.0.0.1:8/m') ==
          'http://127.0.0.1:8/m/archive.tgz')
  assert (download.resolve_url(URL, 'http://127.0.0.1:8/m/') ==
          'http://127.0.0.1:8/m/archive.tgz')


def test_download_verifies_and_renames_into_place(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  path = _fetch(server, tmp_path)
  assert path == str(tmp_path / 'archive.tgz')
  assert open(path, 'rb').read() == PAYLOAD
  assert os.listdir(tmp_path) == ['archive.tgz']  # No .part left.


def test_resumes_after_the_connection_drops_mid_file(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  server.drop_once.add('archive.tgz')
  path = _fetch(server, tmp_path, retries=2)
  assert open(path, 'rb').read() == PAYLOAD
  first, second = server.requested('archive.tgz')
  # A full request, cut at half, then a resume from the bytes already saved
  # (whole chunks of download.CHUNK_SIZE).
  assert first is None
  resumed_at = int(second[len('bytes='):-1])
  assert 0 < resumed_at <= len(PAYLOAD) // 2


def test_resumes_a_partial_file_left_by_an_earlier_run(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  (tmp_path / 'archive.tgz.part').write_bytes(PAYLOAD[:1000])
  path = _fetch(server, tmp_path)
  assert open(path, 'rb').read() == PAYLOAD
  assert server.requested('archive.tgz') == ['bytes=1000-']


def test_restarts_when_the_server_ignores_ranges(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  server.ignore_range = True
  (tmp_path / 'archive.tgz.part').write_bytes(b'stale bytes')
  path = _fetch(server, tmp_path)
  assert open(path, 'rb').read() == PAYLOAD


def test_complete_partial_file_is_finished_without_refetching(server,
                                                             tmp_path):
  server.add('archive.tgz', PAYLOAD)
  (tmp_path / 'archive.tgz.part').write_bytes(PAYLOAD)
  path = _fetch(server, tmp_path)
  assert open(path, 'rb').read() == PAYLOAD
  assert server.requested('archive.tgz') == ['bytes=%d-' % len(PAYLOAD)]


def test_checksum_mismatch_is_refused_and_leaves_no_file(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  wrong = sha256(b'something else')
  with pytest.raises(DatasetError) as info:
    _fetch(server, tmp_path, sha256=wrong)
  message = str(info.value)
  assert 'checksum mismatch' in message
  assert wrong in message and sha256(PAYLOAD) in message
  assert '--noverify_checksums' in message
  assert os.listdir(tmp_path) == []


def test_noverify_accepts_a_mismatching_file(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  path = _fetch(server, tmp_path, sha256=sha256(b'other'),
                verify_checksums=False)
  assert open(path, 'rb').read() == PAYLOAD


def test_verified_existing_file_is_not_downloaded_again(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  (tmp_path / 'archive.tgz').write_bytes(PAYLOAD)
  _fetch(server, tmp_path)
  assert server.requests == []


def test_corrupt_existing_file_is_downloaded_again(server, tmp_path):
  server.add('archive.tgz', PAYLOAD)
  (tmp_path / 'archive.tgz').write_bytes(b'corrupt')
  path = _fetch(server, tmp_path)
  assert open(path, 'rb').read() == PAYLOAD
  assert server.requested('archive.tgz') == [None]


def test_connection_refused_is_a_clear_error(closed_port_url, tmp_path):
  with pytest.raises(DatasetError) as info:
    download.download_file(URL, str(tmp_path), mirror=closed_port_url,
                           retries=1, backoff_seconds=0, progress=False)
  message = str(info.value)
  assert 'connection refused' in message
  assert 'after 2 attempts' in message
  assert '--mirror' in message


def test_http_error_is_not_retried(server, tmp_path):
  with pytest.raises(DatasetError, match='HTTP 404'):
    _fetch(server, tmp_path, retries=3)
  assert len(server.requests) == 1


def test_negative_retries_are_refused(server, tmp_path):
  with pytest.raises(DatasetError, match='received -1'):
    _fetch(server, tmp_path, retries=-1)
