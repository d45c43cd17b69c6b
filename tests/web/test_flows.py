"""Filter flows by address and port in the form, then export the filtered set as CSV."""

import csv
import io

import pytest
from playwright.sync_api import Browser, expect

from ..integration.server import USERNAME, Gateway
from .conftest import screenshot, signed_in

pytestmark = pytest.mark.integration


def test_filter_flows_and_export_csv(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, portal, USERNAME, js_errors)
    page.goto(portal.base_url + "/portal/flows?range=24h")
    first = page.locator("#flows-table tr.flow-row").first
    expect(first).to_be_visible()
    # The first flow's destination, as an address and a port to filter on.
    address, port = first.locator("td:nth-child(4)").inner_text().split()[0].rsplit(":", 1)
    page.fill("input[name=dst]", address)
    page.fill("input[name=dst_port]", port)
    page.click("#flow-filters button[type=submit]")
    page.wait_for_url("**dst_port=*")
    destinations = page.locator("#flows-table tr.flow-row td:nth-child(4)")
    expect(destinations.first).to_be_visible()
    shown = destinations.all_inner_texts()
    assert all(text.split()[0] == f"{address}:{port}" for text in shown), shown
    page.locator("#flows-table .toggle").first.click()
    expect(page.locator("#flows-table tr.flow-detail").first).to_be_visible()
    expect(page.locator("#flows-table tr.flow-detail").first).to_contain_text("packets")
    screenshot(page, "flows")
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(download.path().read_text())))
    assert len(rows) >= len(shown)
    assert {(row["dst_ip"], row["dst_port"]) for row in rows} == {(address, port)}
