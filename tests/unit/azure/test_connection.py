"""parse_connection_string: the forms the portal gives, and every way a pasted string goes wrong."""

import pytest

from flowcdr.azure import ConnectionString, ConnectionStringError, parse_connection_string

from .samples import ACCOUNT, KEY, KEY_STRING, SAS, SAS_STRING, SIG, key_string


def refusal(text: str) -> ConnectionStringError:
    with pytest.raises(ConnectionStringError) as caught:
        parse_connection_string(text, account=ACCOUNT)
    return caught.value


def test_account_key_form() -> None:
    parsed = parse_connection_string(KEY_STRING, account=ACCOUNT)
    assert parsed == ConnectionString(
        protocol="https",
        account_name=ACCOUNT,
        account_key=KEY,
        sas=None,
        endpoint_suffix="core.windows.net",
        blob_endpoint=None,
        text=KEY_STRING,
    )


def test_sas_form_takes_the_account_from_the_blob_endpoint() -> None:
    parsed = parse_connection_string(SAS_STRING, account=ACCOUNT)
    assert parsed.account_name == ACCOUNT
    assert parsed.sas == SAS
    assert parsed.account_key is None
    assert parsed.blob_endpoint == f"https://{ACCOUNT}.blob.core.windows.net/"
    assert parsed.protocol == "https"
    assert parsed.endpoint_suffix == "core.windows.net"


def test_portal_sas_connection_string_with_every_endpoint() -> None:
    text = (
        "BlobEndpoint=https://acct.blob.core.windows.net/;"
        "QueueEndpoint=https://acct.queue.core.windows.net/;"
        "FileEndpoint=https://acct.file.core.windows.net/;"
        "TableEndpoint=https://acct.table.core.windows.net/;"
        f"SharedAccessSignature={SAS};"
    )
    assert parse_connection_string(text, account="acct").sas == SAS


def test_values_holding_equals_signs_are_kept_whole() -> None:
    assert KEY.endswith("==")
    assert parse_connection_string(KEY_STRING, account=ACCOUNT).account_key == KEY
    raw_sig = "sv=2022-11-02&sig=abc+def/ghi=="
    parsed = parse_connection_string(
        key_string(AccountKey=None, SharedAccessSignature=raw_sig), account=ACCOUNT
    )
    assert parsed.sas == raw_sig


def test_one_trailing_semicolon_is_allowed() -> None:
    assert parse_connection_string(KEY_STRING + ";", account=ACCOUNT).account_key == KEY


def test_keys_are_case_insensitive() -> None:
    text = (
        f"defaultendpointsprotocol=https;ACCOUNTNAME={ACCOUNT};accountKey={KEY};"
        "endpointsuffix=core.windows.net"
    )
    parsed = parse_connection_string(text, account=ACCOUNT)
    assert (parsed.account_name, parsed.account_key) == (ACCOUNT, KEY)


def test_protocol_value_is_case_insensitive() -> None:
    assert (
        parse_connection_string(
            key_string(DefaultEndpointsProtocol="HTTPS"), account=ACCOUNT
        ).protocol
        == "https"
    )


def test_surrounding_whitespace_from_a_paste_is_dropped() -> None:
    parsed = parse_connection_string(f"  {KEY_STRING}\n", account=ACCOUNT)
    assert parsed.text == KEY_STRING
    assert parsed.endpoint_suffix == "core.windows.net"


def test_endpoint_suffix_defaults_to_the_public_cloud() -> None:
    parsed = parse_connection_string(key_string(EndpointSuffix=None), account=ACCOUNT)
    assert parsed.endpoint_suffix == "core.windows.net"


@pytest.mark.parametrize(
    "suffix",
    [
        "core.windows.net",
        "core.chinacloudapi.cn",
        "core.usgovcloudapi.net",
        "storage.example-corp.org",
        "Core.Windows.Net",
    ],
)
def test_plausible_endpoint_suffixes(suffix: str) -> None:
    parsed = parse_connection_string(key_string(EndpointSuffix=suffix), account=ACCOUNT)
    assert parsed.endpoint_suffix == suffix.lower()


def test_a_sas_copied_with_its_question_mark() -> None:
    text = key_string(AccountKey=None, SharedAccessSignature=f"?{SAS}")
    assert parse_connection_string(text, account=ACCOUNT).sas == SAS


def test_account_name_and_a_matching_blob_endpoint() -> None:
    text = key_string(BlobEndpoint=f"https://{ACCOUNT}.blob.core.windows.net/")
    assert (
        parse_connection_string(text, account=ACCOUNT).blob_endpoint
        == f"https://{ACCOUNT}.blob.core.windows.net/"
    )


def test_custom_domain_blob_endpoint_needs_account_name() -> None:
    text = key_string(BlobEndpoint="https://logs.contoso.com/")
    assert parse_connection_string(text, account=ACCOUNT).account_name == ACCOUNT
    error = refusal(key_string(AccountName=None, BlobEndpoint="https://logs.contoso.com/"))
    assert error.field == "AccountName"


BAD = [
    # protocol
    pytest.param(
        key_string(DefaultEndpointsProtocol="http"),
        "DefaultEndpointsProtocol",
        "'http'",
        id="http protocol",
    ),
    pytest.param(
        key_string(DefaultEndpointsProtocol="ftp"),
        "DefaultEndpointsProtocol",
        "https",
        id="unknown protocol",
    ),
    pytest.param(
        SAS_STRING.replace("https://", "http://"),
        "BlobEndpoint",
        "https://",
        id="http blob endpoint",
    ),
    pytest.param(
        SAS_STRING.replace("https://", ""), "BlobEndpoint", "https://", id="bare host endpoint"
    ),
    pytest.param(
        key_string(BlobEndpoint="https:///container"),
        "BlobEndpoint",
        "https://",
        id="endpoint without host",
    ),
    pytest.param(
        key_string(BlobEndpoint="https://[::1/"),
        "BlobEndpoint",
        "https://",
        id="broken endpoint URL",
    ),
    pytest.param(
        key_string(BlobEndpoint=f"http://{ACCOUNT}.blob.core.windows.net/?sv=1&sig={SIG}"),
        "BlobEndpoint",
        "sig=****",
        id="http endpoint with a SAS in its query",
    ),
    pytest.param(
        key_string(QueueEndpoint="http://x.queue.core.windows.net"),
        "QueueEndpoint",
        "https",
        id="http queue endpoint",
    ),
    # account
    pytest.param(key_string(AccountName=None), "AccountName", "missing", id="AccountName missing"),
    pytest.param(
        key_string(AccountName="otheraccount"),
        "AccountName",
        "'otheraccount'",
        id="AccountName mismatched",
    ),
    pytest.param(
        key_string(AccountName=ACCOUNT.upper()),
        "AccountName",
        ACCOUNT,
        id="AccountName in upper case",
    ),
    pytest.param(
        key_string(BlobEndpoint="https://other.blob.core.windows.net/"),
        "BlobEndpoint",
        "'other'",
        id="endpoint of another account",
    ),
    pytest.param(
        SAS_STRING.replace(f"{ACCOUNT}.", "other."),
        "BlobEndpoint",
        "'other'",
        id="SAS endpoint of another account",
    ),
    # credentials
    pytest.param(
        key_string(SharedAccessSignature=SAS), "connection_string", "both", id="key and SAS"
    ),
    pytest.param(
        key_string(AccountKey=None),
        "connection_string",
        "AccountKey or a SharedAccessSignature",
        id="neither key nor SAS",
    ),
    pytest.param(key_string(AccountKey="not base64!"), "AccountKey", "base64", id="key not base64"),
    pytest.param(
        key_string(AccountKey=KEY.rstrip("=")), "AccountKey", "base64", id="key missing its padding"
    ),
    pytest.param(
        key_string(AccountKey=KEY[:20] + "\n" + KEY[20:]),
        "AccountKey",
        "base64",
        id="key with a line break",
    ),
    pytest.param(
        key_string(AccountKey=KEY[:-2] + "é="), "AccountKey", "base64", id="key with non-ASCII"
    ),
    pytest.param(key_string(AccountKey="=="), "AccountKey", "base64", id="key of padding only"),
    pytest.param(key_string(AccountKey=""), "AccountKey", "empty", id="key empty"),
    pytest.param(
        key_string(AccountKey=None, SharedAccessSignature=SAS.replace(f"&sig={SIG}", "")),
        "SharedAccessSignature",
        "sig=",
        id="SAS without sig",
    ),
    pytest.param(
        key_string(AccountKey=None, SharedAccessSignature=SAS.replace(SIG, "")),
        "SharedAccessSignature",
        "sig=",
        id="SAS with an empty sig",
    ),
    pytest.param(
        key_string(AccountKey=None, SharedAccessSignature=SAS.replace("sv=2022-11-02&", "")),
        "SharedAccessSignature",
        "sv=",
        id="SAS without sv",
    ),
    pytest.param(
        key_string(AccountKey=None, SharedAccessSignature=SIG),
        "SharedAccessSignature",
        "sv= and no sig=",
        id="SAS that is a bare signature",
    ),
    # grammar
    pytest.param(
        KEY_STRING + f";AccountName={ACCOUNT}", "AccountName", "twice", id="duplicate key"
    ),
    pytest.param(
        KEY_STRING + f";accountkey={KEY}", "AccountKey", "twice", id="duplicate key in another case"
    ),
    pytest.param(
        KEY_STRING.replace(";AccountKey", ";;AccountKey"),
        "connection_string",
        "pair 3 is empty",
        id="empty pair inside",
    ),
    pytest.param(";" + KEY_STRING, "connection_string", "pair 1 is empty", id="leading semicolon"),
    pytest.param(
        KEY_STRING + ";;", "connection_string", "pair 5 is empty", id="two trailing semicolons"
    ),
    pytest.param("", "connection_string", "is empty", id="empty"),
    pytest.param(" \n ", "connection_string", "is empty", id="blank"),
    pytest.param(
        KEY_STRING.replace(f"AccountKey={KEY}", KEY.rstrip("=")),
        "connection_string",
        "pair 3 has no '='",
        id="pair without '='",
    ),
    pytest.param(KEY_STRING + ";=value", "connection_string", "unknown key", id="empty key"),
    pytest.param(
        KEY_STRING + ";AccountKeys=x", "connection_string", "unknown key", id="unknown key"
    ),
    pytest.param(
        KEY_STRING.replace("AccountName=", " AccountName ="),
        "connection_string",
        "unknown key",
        id="blank around a key",
    ),
    pytest.param(key_string(AccountName=""), "AccountName", "empty", id="empty value"),
    # endpoint suffix
    pytest.param(
        key_string(EndpointSuffix="localhost"),
        "EndpointSuffix",
        "'localhost'",
        id="suffix without a dot",
    ),
    pytest.param(
        key_string(EndpointSuffix="https://core.windows.net"),
        "EndpointSuffix",
        "DNS suffix",
        id="suffix as a URL",
    ),
    pytest.param(
        key_string(EndpointSuffix="core..windows.net"),
        "EndpointSuffix",
        "DNS suffix",
        id="suffix with an empty label",
    ),
    pytest.param(
        key_string(EndpointSuffix="core.windows.net."),
        "EndpointSuffix",
        "DNS suffix",
        id="suffix with a trailing dot",
    ),
    pytest.param(
        key_string(EndpointSuffix="-core.windows.net"),
        "EndpointSuffix",
        "DNS suffix",
        id="suffix label starting with '-'",
    ),
    pytest.param(
        key_string(EndpointSuffix="core_windows.net"),
        "EndpointSuffix",
        "DNS suffix",
        id="suffix with an underscore",
    ),
    pytest.param(
        key_string(EndpointSuffix="core windows.net"),
        "EndpointSuffix",
        "DNS suffix",
        id="suffix with a blank",
    ),
    pytest.param(
        key_string(EndpointSuffix="a" * 64 + ".net"),
        "EndpointSuffix",
        "DNS suffix",
        id="suffix label too long",
    ),
]


@pytest.mark.parametrize(("text", "field", "says"), BAD)
def test_bad_connection_strings(text: str, field: str, says: str) -> None:
    error = refusal(text)
    assert error.field == field
    assert says in error.message
    assert str(error) == f"{field}: {error.message}"
    for secret in (KEY, KEY.rstrip("="), SIG):
        assert secret not in str(error)
        assert secret not in repr(error)


def test_error_is_a_value_error_with_no_secret_in_its_cause() -> None:
    error = refusal(key_string(AccountKey=KEY + "!"))
    assert isinstance(error, ValueError)
    assert error.__cause__ is None
    assert error.__suppress_context__
