"""Azure region names a flow-log bucket may live in, kept here as data and nowhere else.

The names are the programmatic ones that Azure Resource Manager gives as ``location`` (what
``az account list-locations`` prints as ``name``): a bucket's region is checked against them, and
the deployment later creates one collector per region. Only physical regions are listed; the
logical ones (``europe``, ``global``...) hold no storage account, and Microsoft's internal stage
regions are no customer's. The two EUAP regions are Azure's early-access canaries, open to
customers who opt in.

The public list follows Resource Manager's location list of 2025. Restricted-access regions are
in only where their name is certain (``swedensouth``, Sweden Central's pair). A region Azure opens
later is one line to add.
"""

from enum import StrEnum
from typing import NamedTuple


class Cloud(StrEnum):
    """An Azure cloud, by the name the Azure CLI gives it; each has its own storage suffix."""

    PUBLIC = "AzureCloud"
    CHINA = "AzureChinaCloud"
    US_GOVERNMENT = "AzureUSGovernment"


class Region(NamedTuple):
    """One region: its programmatic name, the name the portal shows, and its cloud."""

    name: str
    display_name: str
    cloud: Cloud


REGIONS: tuple[Region, ...] = (
    Region("australiacentral", "Australia Central", Cloud.PUBLIC),
    Region("australiacentral2", "Australia Central 2", Cloud.PUBLIC),
    Region("australiaeast", "Australia East", Cloud.PUBLIC),
    Region("australiasoutheast", "Australia Southeast", Cloud.PUBLIC),
    Region("austriaeast", "Austria East", Cloud.PUBLIC),
    Region("belgiumcentral", "Belgium Central", Cloud.PUBLIC),
    Region("brazilsouth", "Brazil South", Cloud.PUBLIC),
    Region("brazilsoutheast", "Brazil Southeast", Cloud.PUBLIC),
    Region("canadacentral", "Canada Central", Cloud.PUBLIC),
    Region("canadaeast", "Canada East", Cloud.PUBLIC),
    Region("centralindia", "Central India", Cloud.PUBLIC),
    Region("centralus", "Central US", Cloud.PUBLIC),
    Region("centraluseuap", "Central US EUAP", Cloud.PUBLIC),
    Region("chilecentral", "Chile Central", Cloud.PUBLIC),
    Region("eastasia", "East Asia", Cloud.PUBLIC),
    Region("eastus", "East US", Cloud.PUBLIC),
    Region("eastus2", "East US 2", Cloud.PUBLIC),
    Region("eastus2euap", "East US 2 EUAP", Cloud.PUBLIC),
    Region("francecentral", "France Central", Cloud.PUBLIC),
    Region("francesouth", "France South", Cloud.PUBLIC),
    Region("germanynorth", "Germany North", Cloud.PUBLIC),
    Region("germanywestcentral", "Germany West Central", Cloud.PUBLIC),
    Region("indonesiacentral", "Indonesia Central", Cloud.PUBLIC),
    Region("israelcentral", "Israel Central", Cloud.PUBLIC),
    Region("italynorth", "Italy North", Cloud.PUBLIC),
    Region("japaneast", "Japan East", Cloud.PUBLIC),
    Region("japanwest", "Japan West", Cloud.PUBLIC),
    Region("jioindiacentral", "Jio India Central", Cloud.PUBLIC),
    Region("jioindiawest", "Jio India West", Cloud.PUBLIC),
    Region("koreacentral", "Korea Central", Cloud.PUBLIC),
    Region("koreasouth", "Korea South", Cloud.PUBLIC),
    Region("malaysiawest", "Malaysia West", Cloud.PUBLIC),
    Region("mexicocentral", "Mexico Central", Cloud.PUBLIC),
    Region("newzealandnorth", "New Zealand North", Cloud.PUBLIC),
    Region("northcentralus", "North Central US", Cloud.PUBLIC),
    Region("northeurope", "North Europe", Cloud.PUBLIC),
    Region("norwayeast", "Norway East", Cloud.PUBLIC),
    Region("norwaywest", "Norway West", Cloud.PUBLIC),
    Region("polandcentral", "Poland Central", Cloud.PUBLIC),
    Region("qatarcentral", "Qatar Central", Cloud.PUBLIC),
    Region("southafricanorth", "South Africa North", Cloud.PUBLIC),
    Region("southafricawest", "South Africa West", Cloud.PUBLIC),
    Region("southcentralus", "South Central US", Cloud.PUBLIC),
    Region("southeastasia", "Southeast Asia", Cloud.PUBLIC),
    Region("southindia", "South India", Cloud.PUBLIC),
    Region("spaincentral", "Spain Central", Cloud.PUBLIC),
    Region("swedencentral", "Sweden Central", Cloud.PUBLIC),
    Region("swedensouth", "Sweden South", Cloud.PUBLIC),
    Region("switzerlandnorth", "Switzerland North", Cloud.PUBLIC),
    Region("switzerlandwest", "Switzerland West", Cloud.PUBLIC),
    Region("uaecentral", "UAE Central", Cloud.PUBLIC),
    Region("uaenorth", "UAE North", Cloud.PUBLIC),
    Region("uksouth", "UK South", Cloud.PUBLIC),
    Region("ukwest", "UK West", Cloud.PUBLIC),
    Region("westcentralus", "West Central US", Cloud.PUBLIC),
    Region("westeurope", "West Europe", Cloud.PUBLIC),
    Region("westindia", "West India", Cloud.PUBLIC),
    Region("westus", "West US", Cloud.PUBLIC),
    Region("westus2", "West US 2", Cloud.PUBLIC),
    Region("westus3", "West US 3", Cloud.PUBLIC),
    Region("chinaeast", "China East", Cloud.CHINA),
    Region("chinaeast2", "China East 2", Cloud.CHINA),
    Region("chinaeast3", "China East 3", Cloud.CHINA),
    Region("chinanorth", "China North", Cloud.CHINA),
    Region("chinanorth2", "China North 2", Cloud.CHINA),
    Region("chinanorth3", "China North 3", Cloud.CHINA),
    Region("usdodcentral", "US DoD Central", Cloud.US_GOVERNMENT),
    Region("usdodeast", "US DoD East", Cloud.US_GOVERNMENT),
    Region("usgovarizona", "US Gov Arizona", Cloud.US_GOVERNMENT),
    Region("usgovtexas", "US Gov Texas", Cloud.US_GOVERNMENT),
    Region("usgovvirginia", "US Gov Virginia", Cloud.US_GOVERNMENT),
)

REGION_NAMES: frozenset[str] = frozenset(region.name for region in REGIONS)


def is_region(name: str) -> bool:
    """Whether ``name`` is a known region; Azure treats location names case-insensitively."""
    return name.lower() in REGION_NAMES
