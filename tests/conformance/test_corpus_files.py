"""Every corpus file through ``parse_blob``: flow logs parse, anything else is a FormatError.

Third-party files are the closest thing we have to real blobs, so no file may crash the parser
with anything but FormatError, and the error must name the input so an operator can find it.
Every ``*.json``/``*.log`` file is either an Elastic output document or a flow-log input, so
the two parametrized tests below together cover the whole corpus.
"""

from pathlib import Path, PurePosixPath

import pytest

from flowcdr.formats import FormatError, parse_blob

from .corpus import corpus_files


def is_elastic_output(name: str) -> bool:
    """Elastic's documents (``sample_event.json``, ``*-expected.json``) are ECS events that
    Elastic produced from flow logs, not flow logs."""
    file = PurePosixPath(name).name
    return file == "sample_event.json" or file.endswith("-expected.json")


def is_flow_log(name: str) -> bool:
    """Everything else in the corpus is a flow-log input (SOURCES.md)."""
    return not is_elastic_output(name)


SUFFIXES = (".json", ".log")
INPUTS = corpus_files(SUFFIXES, is_flow_log)
OUTPUTS = corpus_files(SUFFIXES, is_elastic_output)


@pytest.mark.parametrize("name", INPUTS)
def test_flow_log_files_parse_completely(corpus_dir: Path, name: str) -> None:
    """The flow-log inputs are whole and valid: records read, none cut or rejected."""
    report = parse_blob((corpus_dir / name).read_bytes(), source=name).report
    assert report.records >= 1
    assert report.flows >= 1
    assert (report.rejected, report.cut) == (0, False)


@pytest.mark.parametrize("name", OUTPUTS)
def test_elastic_documents_are_not_flow_logs(corpus_dir: Path, name: str) -> None:
    """Elastic's output documents are refused with a FormatError naming the source."""
    with pytest.raises(FormatError) as caught:
        parse_blob((corpus_dir / name).read_bytes(), source=name)
    assert caught.value.source == name
    assert name in str(caught.value)


def test_both_sample_events_are_in_the_corpus(corpus_dir: Path) -> None:
    """SOURCES.md lists two ``sample_event.json`` outputs; losing one would shrink the check."""
    names = [name for name in OUTPUTS if PurePosixPath(name).name == "sample_event.json"]
    assert sorted(names) == [
        "elastic/azure_network_watcher_nsg/sample_event.json",
        "elastic/azure_network_watcher_vnet/sample_event.json",
    ]
    assert all((corpus_dir / name).is_file() for name in names)
