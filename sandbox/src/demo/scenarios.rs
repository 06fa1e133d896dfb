//! The demo's stories: what the rep does to each opportunity, what to wait for, and where
//! each must end (AWS's referrals, whose records ace-sync creates, are in `referrals`). A
//! [`Run`] is one story in progress.

use time::OffsetDateTime;
use tokio::time::Instant;

use crate::salesforce::{NotificationState, SalesforceSim};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::FieldValue;
use ace_sync::worker::reconcile::fields;

use super::Demo;
use super::seed::{APPROVED, FINDINGS, REJECTED, SPECIFIC_PROBLEM, WON, id, multi, text};
use super::timeline::{self, Actor, Entry};

/// One opportunity's story.
pub(super) struct Scenario {
    pub(super) number: usize,
    pub(super) name: &'static str,
    pub(super) title: &'static str,
    /// The seeded record the story moves; `None` for an AWS referral, whose record ace-sync
    /// creates during the story.
    pub(super) record: Option<&'static str>,
    pub(super) story: Story,
}

/// Which of the stories below a scenario tells.
#[derive(Debug, Clone, Copy)]
pub(super) enum Story {
    Approved,
    FindingsThenFixed,
    RejectedThenResubmitted,
    Won,
    ReferralAccepted,
    ReferralRejected,
}

impl Story {
    /// Tells the story of `run`'s record.
    pub(super) async fn tell(self, run: &mut Run<'_>) -> Outcome {
        match self {
            Story::Approved => approved(run).await,
            Story::FindingsThenFixed => findings_then_fixed(run).await,
            Story::RejectedThenResubmitted => rejected_then_resubmitted(run).await,
            Story::Won => won(run).await,
            Story::ReferralAccepted => super::referrals::accepted(run).await,
            Story::ReferralRejected => super::referrals::rejected(run).await,
        }
    }
}

impl Scenario {
    pub(super) fn record(&self) -> Option<SfRecordId> {
        self.record.map(id)
    }

    /// How the heading names the record.
    pub(super) fn label(&self) -> String {
        match self.record() {
            Some(record) => record.to_string(),
            None => "an AWS referral".to_owned(),
        }
    }
}

/// What a scenario reports: how it ended, or what went wrong.
pub(super) type Outcome = Result<String, String>;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            number: 1,
            name: "Acme - Data Platform Migration",
            title: "checked with ACE, synced, submitted and approved",
            record: Some(APPROVED),
            story: Story::Approved,
        },
        Scenario {
            number: 2,
            name: "Globex - Analytics Pilot",
            title: "pre-flight findings written back, fixed by the rep, then synced",
            record: Some(FINDINGS),
            story: Story::FindingsThenFixed,
        },
        Scenario {
            number: 3,
            name: "Acme - Cloud Move",
            title: "rejected by AWS, fixed by the rep and resubmitted",
            record: Some(REJECTED),
            story: Story::RejectedThenResubmitted,
        },
        Scenario {
            number: 4,
            name: "Globex - Contact Center",
            title: "approved, then Closed Won → Launched in ACE",
            record: Some(WON),
            story: Story::Won,
        },
        Scenario {
            number: 5,
            name: super::referrals::ACCEPTED_TITLE,
            title: "an AWS referral comes into Salesforce, the rep accepts it, the customer's details follow",
            record: None,
            story: Story::ReferralAccepted,
        },
        Scenario {
            number: 6,
            name: super::referrals::REJECTED_TITLE,
            title: "an AWS referral the rep rejects, with AWS's reason",
            record: None,
            story: Story::ReferralRejected,
        },
    ]
}

/// One scenario in progress: the rep's actions and the waits.
pub(super) struct Run<'a> {
    pub(super) demo: &'a Demo,
    /// `None` until an AWS referral's record exists.
    pub(super) record: Option<SfRecordId>,
    pub(super) started: Instant,
    pub(super) rep: Vec<Entry>,
}

impl Run<'_> {
    fn sf(&self) -> &SalesforceSim {
        &self.demo.sf
    }

    /// The record the story moves.
    pub(super) fn id(&self) -> Result<SfRecordId, String> {
        self.record
            .clone()
            .ok_or_else(|| "the story has no record yet".to_owned())
    }

    /// A field of the record, as text.
    pub(super) fn field(&self, name: &str) -> Option<String> {
        field(self.sf(), self.record.as_ref()?, name)
    }

    /// Outbound messages about this record Salesforce has had acknowledged.
    fn delivered(&self) -> usize {
        self.record
            .as_ref()
            .map_or(0, |record| delivered(self.sf(), record))
    }

    /// The rep changes the record, as in Salesforce's UI; waits until the outbound message
    /// it fires has been acknowledged by the ingress.
    pub(super) async fn rep_changes(
        &mut self,
        what: impl Into<String>,
        changes: &[(&str, Option<FieldValue>)],
    ) -> Result<(), String> {
        let before = self.delivered();
        let at = Instant::now();
        let record = self.id()?;
        self.sf().update_as_user(&record, changes).map_err(|e| {
            format!(
                "Salesforce refused the rep's change: {} {}",
                e.code, e.message
            )
        })?;
        self.rep.push(Entry::new(at, Actor::Rep, what));
        self.wait("the outbound message to be acknowledged", move |sf| {
            delivered(sf, &record) > before
        })
        .await
    }

    /// Waits for `done`, at most one step's deadline.
    pub(super) async fn wait(
        &self,
        what: &str,
        done: impl Fn(&SalesforceSim) -> bool,
    ) -> Result<(), String> {
        let deadline = self.demo.config.step_deadline;
        if self.sf().wait_until(deadline, done).await {
            Ok(())
        } else {
            Err(format!(
                "waited {} for {what}; the record shows {}",
                timeline::duration(deadline),
                self.state()
            ))
        }
    }

    /// Waits until the record's fields hold `expected`.
    pub(super) async fn wait_fields(
        &self,
        what: &str,
        expected: &[(&str, &str)],
    ) -> Result<(), String> {
        let record = self.id()?;
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.wait(what, move |sf| {
            expected
                .iter()
                .all(|(k, v)| field(sf, &record, k).as_deref() == Some(v.as_str()))
        })
        .await
    }

    /// The sync fields, for a failure message.
    fn state(&self) -> String {
        [
            fields::ACE_ID,
            fields::REVIEW_STATUS,
            fields::SYNC_STATUS,
            fields::FINDINGS,
        ]
        .iter()
        .map(|f| {
            format!(
                "{f} = {}",
                self.field(f)
                    .map(|v| format!("{:?}", timeline::cut(&v, 80)))
                    .unwrap_or_else(|| "empty".to_owned())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// The ACE opportunities created for this record.
    fn ace_opportunities(&self) -> Vec<serde_json::Value> {
        self.demo
            .pc
            .control()
            .opportunities()
            .into_iter()
            .filter(|o| {
                self.record
                    .as_ref()
                    .is_some_and(|r| o["PartnerOpportunityIdentifier"] == r.as_str())
            })
            .collect()
    }

    /// ACE's review status of `ace_id`.
    fn ace_review(&self, ace_id: &str) -> Option<String> {
        self.demo.pc.control().review_status(ace_id)
    }

    /// The record names ACE opportunity `ace_id`, which ACE has approved, and says so.
    pub(super) fn check_approved(&self) -> Result<String, String> {
        let ace_id = self
            .field(fields::ACE_ID)
            .ok_or_else(|| "the record has no ACE opportunity id".to_owned())?;
        expect(
            "ACE's review status",
            self.ace_review(&ace_id).as_deref(),
            "Approved",
        )?;
        expect(
            fields::REVIEW_STATUS,
            self.field(fields::REVIEW_STATUS).as_deref(),
            "Approved",
        )?;
        expect(
            fields::SYNC_STATUS,
            self.field(fields::SYNC_STATUS).as_deref(),
            "Synced",
        )?;
        let team = self.field(fields::AWS_TEAM).unwrap_or_default();
        if team.trim().is_empty() {
            return Err("the AWS team was not written back".to_owned());
        }
        Ok(ace_id)
    }
}

pub(super) fn expect(what: &str, found: Option<&str>, wanted: &str) -> Result<(), String> {
    if found == Some(wanted) {
        Ok(())
    } else {
        Err(format!(
            "expected {what} {wanted:?}, found {}",
            found.map_or("nothing".to_owned(), |f| format!("{f:?}"))
        ))
    }
}

pub(super) fn field(sf: &SalesforceSim, record: &SfRecordId, name: &str) -> Option<String> {
    sf.record(record)
        .and_then(|r| r.fields.get(name).map(FieldValue::to_text))
        .filter(|v| !v.is_empty())
}

fn delivered(sf: &SalesforceSim, record: &SfRecordId) -> usize {
    sf.notifications()
        .iter()
        .filter(|n| &n.record_id == record && n.state == NotificationState::Delivered)
        .count()
}

fn stage(to: &str) -> [(&'static str, Option<FieldValue>); 1] {
    [("StageName", text(to))]
}

/// Scenario 1: the rep checks with ACE before moving the stage (no ACE call); then a stage
/// change → created and submitted → In review → Approved, AWS team written back.
async fn approved(run: &mut Run<'_>) -> Outcome {
    let checked = run.check_with_ace("Needs Analysis").await?;
    if checked["aceWouldAccept"] != true {
        return Err(format!(
            "Check with ACE says ACE would refuse it: {}",
            checked["summary"]
        ));
    }
    if run.demo.pc.control().call_counts().values().sum::<u64>() != 0 {
        return Err("Check with ACE called Partner Central".to_owned());
    }
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    let record = run.id()?;
    run.wait("the ACE id to be written back", move |sf| {
        field(sf, &record, fields::ACE_ID).is_some()
    })
    .await?;
    run.wait_fields(
        "AWS's approval to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let ace_id = run.check_approved()?;
    let created = run.ace_opportunities().len();
    if created != 1 {
        return Err(format!("{created} ACE opportunities for one record"));
    }
    Ok(format!(
        "Approved in ACE as {ace_id}; the record is Synced and shows the AWS team"
    ))
}

/// Scenario 2: pre-flight findings written back with no ACE call; the rep fixes them;
/// synced and approved.
async fn findings_then_fixed(run: &mut Run<'_>) -> Outcome {
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    run.wait_fields(
        "the pre-flight findings to be written back",
        &[(fields::SYNC_STATUS, "Needs attention")],
    )
    .await?;
    let findings = run.field(fields::FINDINGS).unwrap_or_default();
    for named in ["Use Cases", "Close Date"] {
        if !findings.contains(named) {
            return Err(format!("the findings do not name {named}: {findings:?}"));
        }
    }
    if !run.ace_opportunities().is_empty() {
        return Err("ACE was called although the pre-flight check failed".to_owned());
    }
    let close = OffsetDateTime::now_utc().date() + time::Duration::days(60);
    run.rep_changes(
        "fixes the findings: sets Use Cases and a Close Date in the future",
        &[
            (
                "Use_Cases__c",
                Some(multi(&[
                    "Big Data: Data Warehouse/Data Integration/ETL/Data Lake/BI",
                ])),
            ),
            ("CloseDate", Some(FieldValue::Date(close))),
        ],
    )
    .await?;
    run.wait_fields(
        "AWS's approval to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let ace_id = run.check_approved()?;
    if let Some(left) = run.field(fields::FINDINGS) {
        return Err(format!("findings left on the record: {left:?}"));
    }
    Ok(format!(
        "findings written back without an ACE call; after the fix, Approved as {ace_id} and Synced"
    ))
}

/// Scenario 3: AWS rejects a generic business problem; the rep rewrites it; ace-sync
/// resubmits it as a new ACE opportunity, which AWS approves.
async fn rejected_then_resubmitted(run: &mut Run<'_>) -> Outcome {
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    run.wait_fields(
        "AWS's rejection to be written back",
        &[
            (fields::REVIEW_STATUS, "Rejected"),
            (fields::SYNC_STATUS, "Needs attention"),
        ],
    )
    .await?;
    let rejected = run
        .field(fields::ACE_ID)
        .ok_or_else(|| "the record has no ACE opportunity id".to_owned())?;
    let findings = run.field(fields::FINDINGS).unwrap_or_default();
    if !findings.contains("AWS rejected") {
        return Err(format!(
            "the rejection is not explained on the record: {findings:?}"
        ));
    }
    run.rep_changes(
        "rewrites the business problem with the customer's specifics",
        &[("ACE_Business_Problem__c", text(SPECIFIC_PROBLEM))],
    )
    .await?;
    let record = run.id()?;
    let first = rejected.clone();
    run.wait(
        "the new ACE opportunity's id to be written back",
        move |sf| field(sf, &record, fields::ACE_ID).is_some_and(|id| id != first),
    )
    .await?;
    run.wait_fields(
        "AWS's approval of the resubmission to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let resubmitted = run.check_approved()?;
    expect(
        "the first ACE opportunity's review status",
        run.ace_review(&rejected).as_deref(),
        "Rejected",
    )?;
    let previous = run.field(fields::PREVIOUS_IDS).unwrap_or_default();
    if !previous.split(';').any(|p| p == rejected) {
        return Err(format!(
            "{} does not name the rejected {rejected}: {previous:?}",
            fields::PREVIOUS_IDS
        ));
    }
    Ok(format!(
        "{rejected} Rejected; resubmitted as {resubmitted} (previous ids: {previous}), Approved and Synced"
    ))
}

/// Scenario 4: approved, then won: Closed Won → Launched in ACE.
async fn won(run: &mut Run<'_>) -> Outcome {
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    run.wait_fields(
        "AWS's approval to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let ace_id = run.check_approved()?;
    run.rep_changes("closes the deal: stage → Closed Won", &stage("Closed Won"))
        .await?;
    run.wait_fields(
        "ACE's Launched stage to be written back",
        &[(fields::STAGE, "Launched"), (fields::SYNC_STATUS, "Synced")],
    )
    .await?;
    let in_ace = run
        .demo
        .pc
        .control()
        .opportunity(&ace_id)
        .and_then(|o| o["LifeCycle"]["Stage"].as_str().map(str::to_owned));
    expect("ACE's stage", in_ace.as_deref(), "Launched")?;
    Ok(format!(
        "Approved as {ace_id}, then Launched in ACE; the record is Synced"
    ))
}
