"""Configure > Threat Scanners > Azure: three buckets, an inline API error, save, details, zip."""

import io
import zipfile

import pytest
from playwright.sync_api import Browser, expect

from ..integration.server import USERNAME, Gateway
from .conftest import screenshot, signed_in

pytestmark = pytest.mark.integration

KEY = "c3VwZXItc2VjcmV0LWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5LQ=="
SUBSCRIPTION = "8a33978a-932e-4c21-8410-f160bab17e42"


def connection_string(account: str) -> str:
    return (
        f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={KEY};"
        "EndpointSuffix=core.windows.net"
    )


def test_create_a_configuration_with_three_buckets(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, portal, USERNAME, js_errors)
    page.goto(portal.base_url + "/portal/configure/azure")
    page.click("text=Configure Flow Logs")
    page.fill("input[name=deployment_name]", "azure-production")
    page.fill("input[name=subscription_id]", SUBSCRIPTION)
    add = page.locator("#add-bucket")
    add.click()
    add.click()
    rows = page.locator("#bucket-rows tr.bucket-row")
    expect(rows).to_have_count(3)
    buckets = (("flowlogseast01", "eastus"), ("flowlogswest01", "westeurope"),
               ("flowlogsasia01", "southeastasia"))  # fmt: skip
    for row, (account, region) in zip(rows.all(), buckets, strict=True):
        row.locator("input[name=storage_account]").fill(account)
        row.locator("select[name=region]").select_option(region)
        row.locator("input[name=connection_string]").fill(connection_string(account))
    third = rows.nth(2).locator("input[name=connection_string]")
    third.fill("AccountName=flowlogsasia01;AccountKey=")
    screenshot(page, "configure-azure")
    page.click("button[type=submit].primary")
    error = page.locator("#bucket-rows tr.bucket-row").nth(2).locator(".field-error")
    expect(error).to_be_visible()
    assert error.inner_text()
    # The form comes back as typed, with the message beside the bad input only.
    expect(page.locator(".field-error")).to_have_count(1)
    expect(page.locator("#bucket-rows tr.bucket-row")).to_have_count(3)
    page.locator("#bucket-rows tr.bucket-row").nth(2).locator("input[name=connection_string]").fill(
        connection_string("flowlogsasia01")
    )
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal/configure/azure/*")
    details = page.locator("#bucket-details tbody tr")
    expect(details).to_have_count(3)
    for text in details.locator(".secret").all_inner_texts():
        assert KEY not in text
        assert "****" in text
    screenshot(page, "configure-azure-details")
    with page.expect_download() as download_info:
        page.click("#download-scripts")
    download = download_info.value
    archive = zipfile.ZipFile(io.BytesIO(download.path().read_bytes()))
    names = archive.namelist()
    assert any(name.endswith(".tf") for name in names), names
    assert download.suggested_filename.endswith(".zip")
