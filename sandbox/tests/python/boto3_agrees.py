"""boto3 against the Partner Central simulator: a second, independent client (botocore's own
model and serializers) must agree with it. Run by sandbox/tests/sandbox/partner_central_sim/clients.rs::boto3_agrees.

Usage: boto3_agrees.py ENDPOINT_URL TARGET_CLOSE_DATE
Creates, reads and updates an opportunity, then checks that an invalid request comes back as
a modelled ValidationException. Prints "created <id>" and "boto3 agrees" on success.
"""
import sys

import boto3
from botocore.config import Config


def main() -> None:
    endpoint, close_date = sys.argv[1], sys.argv[2]
    client = boto3.client(
        "partnercentral-selling",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )
    created = client.create_opportunity(
        Catalog="Sandbox",
        ClientToken="boto3-agrees-1",
        Origin="Partner Referral",
        PrimaryNeedsFromAws=["Co-Sell - Technical Consultation"],
        Customer={
            "Account": {
                "CompanyName": "Contoso",
                "Industry": "Healthcare",
                "WebsiteUrl": "https://contoso.example",
                "Address": {"CountryCode": "US", "StateOrRegion": "Texas", "PostalCode": "73301"},
            }
        },
        Project={
            "Title": "Imaging archive",
            "CustomerBusinessProblem": "Contoso stores 2 PB of imaging on tape and needs retrieval in minutes for clinicians.",
            "ExpectedCustomerSpend": [
                {"Amount": "4000", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
            ],
        },
        LifeCycle={"Stage": "Prospect", "TargetCloseDate": close_date},
    )
    opportunity_id = created["Id"]
    print(f"created {opportunity_id}")

    got = client.get_opportunity(Catalog="Sandbox", Identifier=opportunity_id)
    assert got["LifeCycle"]["ReviewStatus"] == "Pending Submission", got["LifeCycle"]
    assert got["Customer"]["Account"]["CompanyName"] == "Contoso"
    # botocore parses the timestamp; it must equal what Create answered.
    assert got["LastModifiedDate"] == created["LastModifiedDate"] == got["CreatedDate"]

    # The full GET payload back as the update, as AWS's samples do.
    update = {k: got[k] for k in ("Customer", "Project", "LifeCycle", "PrimaryNeedsFromAws") if k in got}
    update["Project"]["Title"] = "Updated by boto3"
    updated = client.update_opportunity(
        Catalog="Sandbox", Identifier=opportunity_id, LastModifiedDate=got["LastModifiedDate"], **update
    )
    assert updated["LastModifiedDate"] > got["LastModifiedDate"]
    again = client.get_opportunity(Catalog="Sandbox", Identifier=opportunity_id)
    assert again["Project"]["Title"] == "Updated by boto3"

    try:
        client.update_opportunity(
            Catalog="Sandbox",
            Identifier=opportunity_id,
            LastModifiedDate=again["LastModifiedDate"],
            Customer={"Account": {"CompanyName": "Contoso", "Industry": "Healthcare", "Duns": "12"}},
            LifeCycle={"Stage": "Prospect", "TargetCloseDate": close_date},
        )
    except client.exceptions.ValidationException as e:
        assert e.response["Error"]["Code"] == "ValidationException", e.response
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert e.response["Reason"] == "REQUEST_VALIDATION_FAILED", e.response
        errors = [(x["FieldName"], x["Code"]) for x in e.response["ErrorList"]]
        assert errors == [("Customer.Account.Duns", "INVALID_STRING_FORMAT")], errors
    else:
        raise AssertionError("the invalid update was accepted")

    try:
        client.update_opportunity(
            Catalog="Sandbox", Identifier=opportunity_id, LastModifiedDate=got["LastModifiedDate"], **update
        )
    except client.exceptions.ConflictException as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    else:
        raise AssertionError("a stale LastModifiedDate was accepted")
    print("boto3 agrees")


if __name__ == "__main__":
    main()
