"""The Function package of the Terraform download, unpacked alone and run against Azurite and the
real gateway: what Azure runs is the zip, not this checkout, so the zip's own modules must
collect every flow once (the collector's behaviour itself is tested in test_collect_function)."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from flowcdr.collect.source import VNET_CONTAINER
from flowcdr.deploy.package import function_package

from .azurite import Azurite, Hour, stored_flows
from .server import Gateway, clean_env

pytestmark = pytest.mark.integration

# Runs inside the unpacked package: this checkout's src/ is taken off the path first, so only the
# zip's flowcdr can be imported. Timer pass, then an Event Grid blob event, as the host would.
HANDLERS = """
import json, sys
sys.path = [p for p in sys.path if not p.endswith("/src")]
from azure.functions.blob import InputStream
from azure.functions.timer import TimerRequest
import flowcdr, function_app
function_app.collect_pass(TimerRequest(past_due=False))
function_app.collect_vnet_blob(InputStream(data=b"", name=sys.argv[1]))
print(json.dumps(flowcdr.__file__))
"""


def test_the_unpacked_package_collects_every_flow_once(
    tmp_path: Path, azurite: Azurite, gateway: Gateway, subscription_token: str
) -> None:
    package = tmp_path / "package"
    with zipfile.ZipFile(io.BytesIO(function_package())) as archive:
        archive.extractall(package)
    hour = Hour(azurite)
    hour.write()
    hour.write(records=2)
    env = clean_env(tmp_path)
    env.update(
        FLOWCDR_GATEWAY_URL=gateway.base_url,
        FLOWCDR_SUBSCRIPTION_TOKEN=subscription_token,
        FLOWLOG_STORAGE=azurite.connection_string,
        AzureWebJobsStorage=azurite.connection_string,
    )
    done = subprocess.run(
        [sys.executable, "-c", HANDLERS, f"{VNET_CONTAINER}/{hour.vnet.blob.blob_name}"],
        cwd=package, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Path(json.loads(done.stdout.splitlines()[-1])).is_relative_to(package)
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()
