"""simple-salesforce against the Salesforce simulator: a third-party client, with its own URL
forms (trailing slashes, `/query/?q=`, describe), must work against it as against a real org.
Run by sandbox/tests/sandbox/salesforce_clients.rs::simple_salesforce_agrees.

Usage: simple_salesforce_agrees.py BASE_URL CONSUMER_KEY USERNAME PRIVATE_KEY_PATH OPPORTUNITY_ID

simple-salesforce always speaks https to `<domain>.salesforce.com` and to the instance; the
simulator serves plain http on loopback. `loopback.Loopback` stands in for DNS and TLS, and
nothing else.

Signs in with simple-salesforce's own JWT bearer flow (the simulator's key), then as
`Salesforce(instance_url=…, session_id=…)`; reads versions, resources and describes; queries;
gets the opportunity by its 18- and 15-character ids; updates it; and checks that the errors a
real org gives surface as simple-salesforce's exceptions with their status and errorCode.
Prints "simple-salesforce agrees" on success.
"""
import sys
from urllib.parse import urlsplit

from loopback import Loopback, expect_error
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound


def main() -> None:
    base_url, consumer_key, username, key_path, opportunity_id = sys.argv[1:6]
    session = Loopback(base_url)

    # simple-salesforce's own JWT bearer login (token URL https://login.salesforce.com/…).
    login = Salesforce(
        username=username, consumer_key=consumer_key, privatekey_file=key_path, session=session
    )
    assert login.sf_instance == urlsplit(base_url).netloc, login.sf_instance
    token = login.session_id
    assert "!" in token, token

    sf = Salesforce(instance_url=base_url, session_id=token, session=session)
    version = sf.sf_version

    # /services/data/ (versions, no session) and /services/data/vNN.N/ (resources).
    versions = session.get(f"{base_url}/services/data/").json()
    assert any(v["version"] == version for v in versions), versions
    resources = sf.restful("")
    assert resources["sobjects"] == f"/services/data/v{version}/sobjects", resources

    # Describe global, the object's basic information, its describe.
    names = [o["name"] for o in sf.describe()["sobjects"]]
    assert {"Opportunity", "Account"} <= set(names), names
    assert sf.Opportunity.metadata()["objectDescribe"]["keyPrefix"] == "006"
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert fields["Name"]["length"] == 120 and fields["Name"]["type"] == "string", fields["Name"]
    stage = fields["StageName"]
    assert stage["type"] == "picklist" and stage["restrictedPicklist"], stage
    assert "Closed Won" in [v["value"] for v in stage["picklistValues"]], stage

    # SOQL through /query/?q= (simple-salesforce) with a relationship field and a 15-char id.
    short_id = opportunity_id[:15]
    result = sf.query(
        f"SELECT Id, Name, StageName, Account.Name FROM Opportunity WHERE Id = '{short_id}'"
    )
    assert result["totalSize"] == 1 and result["done"], result
    record = result["records"][0]
    assert record["Id"] == opportunity_id, record
    assert record["Account"]["Name"] == "Acme Corporation", record
    everything = sf.query_all("SELECT Id, Name FROM Opportunity")
    assert everything["totalSize"] == 3, everything
    # The other URL form, /query?q=, and the OAuth scheme of older clients.
    plain = session.get(
        f"{base_url}/services/data/v{version}/query",
        params={"q": "SELECT Name FROM Account WHERE Name = 'globex'"},
        headers={"Authorization": f"OAuth {token}"},
    )
    assert plain.status_code == 200, plain.text
    assert [r["Name"] for r in plain.json()["records"]] == ["Globex"], plain.text

    # A record by its 18- and its 15-character id.
    by_long = sf.Opportunity.get(opportunity_id)
    by_short = sf.Opportunity.get(short_id)
    assert by_long["Id"] == by_short["Id"] == opportunity_id, (by_long["Id"], by_short["Id"])
    assert by_long["attributes"]["type"] == "Opportunity"

    # An update: 204, and the record shows it.
    status = sf.Opportunity.update(short_id, {"NextStep": "Call the CFO", "Amount": 1234.5})
    assert status == 204, status
    after = sf.Opportunity.get(opportunity_id)
    assert after["NextStep"] == "Call the CFO" and after["Amount"] == 1234.5, after

    # The errors a real org gives.
    expect_error(
        lambda: sf.Opportunity.update(opportunity_id, {"Nope__c": 1}),
        SalesforceMalformedRequest, 400, "INVALID_FIELD",
    )
    too_long = expect_error(
        lambda: sf.Opportunity.update(opportunity_id, {"NextStep": "x" * 256}),
        SalesforceMalformedRequest, 400, "STRING_TOO_LONG",
    )
    assert too_long["fields"] == ["NextStep"], too_long
    expect_error(
        lambda: sf.Opportunity.update(opportunity_id, {"StageName": "Won-ish"}),
        SalesforceMalformedRequest, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    )
    expect_error(
        lambda: sf.Opportunity.get("0065g00000Nope1"),
        SalesforceResourceNotFound, 404, "NOT_FOUND",
    )
    expect_error(
        lambda: sf.query("SELECT Id, Nope__c FROM Opportunity"),
        SalesforceMalformedRequest, 400, "INVALID_FIELD",
    )
    # Every response carried the API usage; simple-salesforce parsed it.
    assert sf.api_usage["api-usage"].used > 0, sf.api_usage
    print("simple-salesforce agrees")


if __name__ == "__main__":
    main()
