"""Connection strings shared by the tests, with secrets distinctive enough to grep for."""

import base64

ACCOUNT = "flowlogsprod01"
SECRET = b"super-secret-key-material-0123456789-"
KEY = base64.b64encode(SECRET).decode()  # ends in "==": a value that holds '='
SIG = "c2lnbmF0dXJlLW5vdC1yZWFs%2BZmFrZQ%3D%3D"
SAS = f"sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-12-31T23:59:59Z&spr=https&sig={SIG}"

KEY_STRING = (
    f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT};AccountKey={KEY};"
    "EndpointSuffix=core.windows.net"
)
SAS_STRING = f"BlobEndpoint=https://{ACCOUNT}.blob.core.windows.net/;SharedAccessSignature={SAS}"


def key_string(**overrides: str | None) -> str:
    """KEY_STRING with pairs replaced (a string) or left out (None), others kept in order."""
    pairs: dict[str, str | None] = {
        "DefaultEndpointsProtocol": "https",
        "AccountName": ACCOUNT,
        "AccountKey": KEY,
        "EndpointSuffix": "core.windows.net",
    }
    pairs.update(overrides)
    return ";".join(f"{k}={v}" for k, v in pairs.items() if v is not None)
