"""simple-salesforce creates records and upserts by External ID against the Salesforce
simulator, as ace-sync's referral sync will against a real org. Run by
sandbox/tests/sandbox/salesforce_clients.rs::simple_salesforce_upserts.

Usage: simple_salesforce_upserts.py BASE_URL CONSUMER_KEY USERNAME PRIVATE_KEY_PATH SHARED_ACE_ID

SHARED_ACE_ID is an ACE_Opportunity_Id__c two records of the org hold.

Upserts an AWS referral by ACE_Invitation_Id__c (201 created, then 200 updated), reads it
back by that id, creates an Account, and checks the refusals: a field that is not an External
ID (404), an External ID several records hold (300), a create without the required fields, a
rejection reason outside the restricted picklist, a duplicate of a unique External ID.
Prints "created <id>" and "simple-salesforce upserts" on success.
"""
import sys

from loopback import Loopback, expect_error
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

INVITATION = "engi-8h2k4m6p9q1rs"


def main() -> None:
    base_url, consumer_key, username, key_path, shared_ace_id = sys.argv[1:6]
    session = Loopback(base_url)
    sf = Salesforce(
        username=username, consumer_key=consumer_key, privatekey_file=key_path, session=session
    )
    referral = {
        "Name": "Northwind - Contact center modernization",
        "StageName": "Prospecting",
        "CloseDate": "2030-03-31",
        "ACE_Invitation_Status__c": "Pending",
        "ACE_Invitation_Expires__c": "2030-01-15T12:00:00.000+0000",
        "ACE_Origin__c": "AWS Referral",
        "ACE_AWS_Contact__c": "Dana Whitfield <dana.whitfield@aws-sales.example>",
        "ACE_Customer_Company__c": "Northwind Traders",
        "ACE_Customer_Industry__c": "Retail",
        "ACE_Customer_Country__c": "US",
    }

    # None holds the invitation id yet: created.
    created = sf.Opportunity.upsert(f"ACE_Invitation_Id__c/{INVITATION}", referral, raw_response=True)
    assert created.status_code == 201, (created.status_code, created.text)
    body = created.json()
    assert body["success"] and body["created"] and body["errors"] == [], body
    record_id = body["id"]
    print(f"created {record_id}")

    # Now one does: updated (200 with created false, as API versions from 46.0 answer).
    updated = sf.Opportunity.upsert(
        f"ACE_Invitation_Id__c/{INVITATION}",
        {"ACE_Invitation_Decision__c": "Accept", "ACE_Invitation_Status__c": "Accepted"},
        raw_response=True,
    )
    assert updated.status_code == 200, (updated.status_code, updated.text)
    assert updated.json() == {"id": record_id, "success": True, "errors": [], "created": False}

    got = sf.Opportunity.get_by_custom_id("ACE_Invitation_Id__c", INVITATION)
    assert got["Id"] == record_id, got
    assert got["ACE_Invitation_Status__c"] == "Accepted", got
    assert got["ACE_Customer_Company__c"] == "Northwind Traders", got
    assert got["ACE_Invitation_Id__c"] == INVITATION, got

    account = sf.Account.create({"Name": "Northwind Traders", "Website": "https://northwind.example"})
    assert account["success"] and account["id"].startswith("001"), account

    # Refusals, as a real org answers them.
    not_external = expect_error(
        lambda: sf.Opportunity.upsert("Name/Acme", {"StageName": "Prospecting"}),
        SalesforceResourceNotFound, 404, "NOT_FOUND",
    )
    assert "external ID" in not_external["message"], not_external
    try:
        sf.Opportunity.upsert(f"ACE_Opportunity_Id__c/{shared_ace_id}", {"NextStep": "Call"})
    except SalesforceMoreThanOneRecord as e:
        assert e.status == 300, e.status
        assert len(e.content) == 2 and all("/sobjects/Opportunity/006" in u for u in e.content), e.content
    else:
        raise AssertionError("an External ID two records hold was upserted")
    missing = expect_error(
        lambda: sf.Opportunity.create({"Name": "No stage, no close date"}),
        SalesforceMalformedRequest, 400, "REQUIRED_FIELD_MISSING",
    )
    assert set(missing["fields"]) == {"StageName", "CloseDate"}, missing
    expect_error(
        lambda: sf.Opportunity.upsert(
            "ACE_Invitation_Id__c/engi-0000000000000",
            {**referral, "ACE_Invitation_Rejection_Reason__c": "Too busy"},
        ),
        SalesforceMalformedRequest, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    )
    expect_error(
        lambda: sf.Account.create({"Website": "https://nameless.example"}),
        SalesforceMalformedRequest, 400, "REQUIRED_FIELD_MISSING",
    )
    expect_error(
        lambda: sf.Opportunity.create({**referral, "ACE_Invitation_Id__c": INVITATION.upper()}),
        SalesforceMalformedRequest, 400, "DUPLICATE_VALUE",
    )
    print("simple-salesforce upserts")


if __name__ == "__main__":
    main()
