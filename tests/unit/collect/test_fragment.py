import gzip
import json

import pytest

from flowcdr.collect.fragment import (
    PART_BYTES,
    FragmentError,
    block_document,
    block_records,
    cut_parts,
    envelope,
)


def test_first_and_following_blocks() -> None:
    assert block_records(b'{"a":1},{"b":[2,"]"]}', "x") == [b'{"a":1}', b'{"b":[2,"]"]}']
    assert block_records(b',\r\n {"a":1}', "x") == [b'{"a":1}']


def test_a_whole_document_in_one_block() -> None:
    assert block_records(b'{ "records" : [{"a":1}, {"a":2}]}', "x") == [b'{"a":1}', b'{"a":2}']


def test_a_block_that_is_not_records_names_its_source() -> None:
    with pytest.raises(FragmentError, match="blob/x: block is not"):
        block_records(b',{"a":1}]}', "blob/x")


def test_parts_are_cut_at_record_boundaries_under_the_limit() -> None:
    records = [b"x" * 10] * 5
    assert [len(p) for p in cut_parts(records, limit=25)] == [2, 2, 1]
    assert [len(p) for p in cut_parts([b"y" * 100], limit=25)] == [1]


def test_envelope_is_a_flow_log_document() -> None:
    body = envelope([b'{"a":1}', b'{"a":2}'])
    assert json.loads(gzip.decompress(gzip.compress(body))) == {"records": [{"a": 1}, {"a": 2}]}


def test_a_block_that_fits_one_part_is_shipped_as_written() -> None:
    assert block_document(b',{"a": 1},\n{"b": 2}', "x") == b'{"records":[{"a": 1},\n{"b": 2}]}'
    whole = b'{"records":[{"a": 1}]}'
    assert block_document(whole, "x") == whole
    assert block_document(b"," + b'{"a": "' + b"x" * PART_BYTES + b'"}', "x") is None


def test_a_block_cut_mid_record_is_refused_before_shipping() -> None:
    with pytest.raises(FragmentError, match="blob/x: block is not"):
        block_document(b',{"a": 1},{"b"', "blob/x")
