"""mask and the secrecy of errors: no account key or SAS signature gets out, whatever the input."""

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from flowcdr.azure import ConnectionStringError, mask, parse_connection_string

from .samples import ACCOUNT, KEY, KEY_STRING, SAS, SAS_STRING, SIG

SETTINGS = settings(max_examples=300, deadline=None)


def test_mask_hides_the_account_key_and_keeps_the_rest() -> None:
    assert mask(KEY_STRING) == (
        f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT};AccountKey=****;"
        "EndpointSuffix=core.windows.net"
    )


def test_mask_hides_only_the_sas_signature() -> None:
    assert mask(SAS_STRING) == SAS_STRING.replace(SIG, "****")


def test_mask_finds_sig_first_in_the_token_and_after_a_question_mark() -> None:
    assert mask("SharedAccessSignature=sig=abc%3D&sv=1") == "SharedAccessSignature=sig=****&sv=1"
    assert mask("SharedAccessSignature=?SIG=abc&sv=1") == "SharedAccessSignature=?SIG=****&sv=1"


def test_mask_keeps_lookalike_parameters() -> None:
    text = "SharedAccessSignature=sv=1&design=x&sigma=y&sig=z"
    assert mask(text) == "SharedAccessSignature=sv=1&design=x&sigma=y&sig=****"


def test_mask_is_loose_about_how_the_key_is_written() -> None:
    text = f" accountKEY ={KEY};;AccountKey={KEY};"
    assert mask(text) == " accountKEY =****;;AccountKey=****;"


def test_mask_leaves_text_without_secrets_alone() -> None:
    for text in ["", ";;", "no pairs at all", "AccountName=x;EndpointSuffix=core.windows.net;"]:
        assert mask(text) == text


def test_parsed_string_is_masked_and_keeps_secrets_out_of_repr() -> None:
    for text, account in [(KEY_STRING, ACCOUNT), (SAS_STRING, ACCOUNT)]:
        parsed = parse_connection_string(text, account=account)
        assert parsed.masked == mask(text)
        for secret in (KEY, SIG, SAS):
            assert secret not in parsed.masked
            assert secret not in repr(parsed)
            assert secret not in str(parsed)


keys = st.binary(min_size=16, max_size=96).map(lambda raw: base64.b64encode(raw).decode())
sigs = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%+/=",
    min_size=16,
    max_size=64,
)
key_names = st.sampled_from(["AccountKey", "accountkey", "ACCOUNTKEY", "aCcOuNtKeY"])
sas_params = st.lists(
    st.sampled_from(["sv=2022-11-02", "ss=b", "srt=co", "sp=rl", "spr=https", "se=2030-01-01"]),
    max_size=6,
)


@SETTINGS
@given(key=keys, name=key_names, trailing=st.sampled_from(["", ";"]))
def test_mask_never_shows_a_generated_key(key: str, name: str, trailing: str) -> None:
    text = f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT};{name}={key}{trailing}"
    assert key not in mask(text)
    parsed = parse_connection_string(text, account=ACCOUNT)
    assert key not in parsed.masked


@SETTINGS
@given(sig=sigs, params=sas_params, at=st.integers(min_value=0, max_value=6))
def test_mask_never_shows_a_generated_signature(sig: str, params: list[str], at: int) -> None:
    params.insert(min(at, len(params)), f"sig={sig}")
    text = (
        f"BlobEndpoint=https://{ACCOUNT}.blob.core.windows.net/;SharedAccessSignature="
        + "&".join(params)
    )
    assert sig not in mask(text)


@SETTINGS
@given(st.text())
def test_mask_changes_nothing_but_secrets(text: str) -> None:
    masked = mask(text)
    if "sig=" not in text.lower() and "accountkey" not in text.lower():
        assert masked == text
    assert mask(masked) == masked


pieces = st.sampled_from(
    [
        f"AccountKey={KEY}",
        f"accountkey={KEY}",
        f"SharedAccessSignature={SAS}",
        f"SharedAccessSignature=sig={SIG}",
        f"SharedAccessSignature={SIG}",
        f"AccountKey={KEY[:-2]}",
        KEY,
        f"{KEY}={KEY}",
        f"BlobEndpoint=https://{ACCOUNT}.blob.core.windows.net/?{SAS}",
        f"BlobEndpoint=http://{ACCOUNT}.blob.core.windows.net/?{SAS}",
        f"AccountName={ACCOUNT}",
        "AccountName=someoneelse",
        "DefaultEndpointsProtocol=https",
        "DefaultEndpointsProtocol=http",
        "EndpointSuffix=core.windows.net",
        "EndpointSuffix=localhost",
        "",
        "=",
    ]
)


def message_for(text: str) -> str:
    """The refusal's text, or "" when the string is accepted."""
    try:
        parse_connection_string(text, account=ACCOUNT)
    except ConnectionStringError as error:
        return f"{error} {error!r}"
    return ""


@SETTINGS
@given(st.lists(pieces, max_size=6))
def test_no_error_message_holds_a_secret(parts: list[str]) -> None:
    message = message_for(";".join(parts))
    for secret in (KEY, KEY[:-2], SIG):
        assert secret not in message
