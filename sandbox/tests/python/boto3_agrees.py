"""boto3 against the Partner Central simulator: a second, independent client (botocore's own
model and serializers) must agree with it. Run by sandbox/tests/sandbox/partner_central_sim/clients.rs::boto3_agrees.

Usage: boto3_agrees.py ENDPOINT_URL TARGET_CLOSE_DATE
Creates, reads and updates an opportunity, then checks that an invalid request comes back as
a modelled ValidationException. Then submits a complete one through the asynchronous
StartEngagementFromOpportunityTask (the simulator runs with a task delay): IN_PROGRESS first,
the same task on a replay, a ConflictException for the token with another body, COMPLETE as
ListEngagementFromOpportunityTasks (and its paginator) reports it; and a FAILED task with AWS's
reason for the incomplete one. Prints "created <id>", "submitted <id>" and "boto3 agrees".
"""
import sys
import time

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

    submit_asynchronously(client, close_date, incomplete_id=opportunity_id)
    print("boto3 agrees")


def wait_for_task(client, task_id: str) -> dict:
    """Polls ListEngagementFromOpportunityTasks until the task has ended (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        summaries = client.list_engagement_from_opportunity_tasks(
            Catalog="Sandbox", TaskIdentifier=[task_id]
        )["TaskSummaries"]
        assert len(summaries) == 1, summaries
        if summaries[0]["TaskStatus"] != "IN_PROGRESS":
            return summaries[0]
        assert time.monotonic() < deadline, f"task {task_id} still in progress"
        time.sleep(0.02)


def submit_asynchronously(client, close_date: str, incomplete_id: str) -> None:
    created = client.create_opportunity(
        Catalog="Sandbox",
        ClientToken="boto3-agrees-2",
        PrimaryNeedsFromAws=["Co-Sell - Architectural Validation"],
        Customer={
            "Account": {
                "CompanyName": "Fabrikam",
                "Industry": "Manufacturing",
                "WebsiteUrl": "https://fabrikam.example",
                "Address": {"CountryCode": "DE", "PostalCode": "10115", "City": "Berlin"},
            }
        },
        Project={
            "Title": "Plant telemetry",
            "CustomerBusinessProblem": "Fabrikam's 12 plants send sensor data to a single on-premises historian that is full; they need a fleet-wide store with anomaly alerts.",
            "CustomerUseCase": "IOT",
            "DeliveryModels": ["Professional Services"],
            "SalesActivities": ["Conducted POC / Demo"],
            "ExpectedCustomerSpend": [
                {"Amount": "9000", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
            ],
        },
        LifeCycle={"Stage": "Qualified", "TargetCloseDate": close_date},
    )
    opportunity_id = created["Id"]
    client.associate_opportunity(
        Catalog="Sandbox",
        OpportunityIdentifier=opportunity_id,
        RelatedEntityType="Solutions",
        RelatedEntityIdentifier="S-1234567",
    )
    request = {
        "Catalog": "Sandbox",
        "ClientToken": "boto3-submit-1",
        "Identifier": opportunity_id,
        "AwsSubmission": {"InvolvementType": "Co-Sell", "Visibility": "Full"},
    }
    started = client.start_engagement_from_opportunity_task(**request)
    assert started["TaskStatus"] == "IN_PROGRESS", started
    assert started["OpportunityId"] == opportunity_id, started
    assert "EngagementId" not in started, started
    task_id = started["TaskId"]

    replayed = client.start_engagement_from_opportunity_task(**request)
    assert replayed["TaskId"] == task_id, replayed
    # botocore parses StartTime; the same task started once.
    assert replayed["StartTime"] == started["StartTime"], replayed

    try:
        client.start_engagement_from_opportunity_task(
            **{**request, "AwsSubmission": {"InvolvementType": "For Visibility Only"}}
        )
    except client.exceptions.ConflictException as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    else:
        raise AssertionError("the same ClientToken with another body was accepted")

    done = wait_for_task(client, task_id)
    assert done["TaskStatus"] == "COMPLETE", done
    assert done["EngagementId"].startswith("eng-"), done
    assert done["EngagementInvitationId"].startswith("engi-"), done
    got = client.get_opportunity(Catalog="Sandbox", Identifier=opportunity_id)
    assert got["LifeCycle"]["ReviewStatus"] == "Submitted", got["LifeCycle"]
    again = client.start_engagement_from_opportunity_task(**request)
    assert again["TaskStatus"] == "COMPLETE" and again["TaskId"] == task_id, again

    # The incomplete opportunity: the task fails with AWS's reason instead.
    failing = client.start_engagement_from_opportunity_task(
        Catalog="Sandbox",
        ClientToken="boto3-submit-2",
        Identifier=incomplete_id,
        AwsSubmission={"InvolvementType": "Co-Sell"},
    )
    failed = wait_for_task(client, failing["TaskId"])
    assert failed["TaskStatus"] == "FAILED", failed
    assert failed["ReasonCode"] == "OpportunityValidationFailed", failed
    assert "Project.CustomerUseCase" in failed["Message"], failed

    # botocore's own paginator follows NextToken through both tasks, newest first.
    pages = client.get_paginator("list_engagement_from_opportunity_tasks").paginate(
        Catalog="Sandbox", PaginationConfig={"PageSize": 1}
    )
    listed = [t["TaskId"] for page in pages for t in page["TaskSummaries"]]
    assert listed == [failing["TaskId"], task_id], listed
    print(f"submitted {opportunity_id}")


if __name__ == "__main__":
    main()
