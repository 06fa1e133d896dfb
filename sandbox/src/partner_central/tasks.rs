//! The asynchronous tasks of the service as their Start…Task answers and List…Tasks
//! summaries render them, and how the list operations filter and sort them (ace-api.md §3).

use serde_json::Value;

use super::service::{descending, filter_list, object, str_of, text};
use super::store::{self, Task};

/// A task as its Start…Task response and task summaries render it.
pub(super) fn task_document(task: &Task, with_engagement: bool) -> Value {
    object(vec![
        ("TaskId", text(&task.id)),
        ("TaskArn", text(&task.arn)),
        ("StartTime", text(store::format_time(task.start_time))),
        ("TaskStatus", text(&task.status)),
        ("Message", task.message.clone().map(Value::String)),
        ("ReasonCode", task.reason_code.clone().map(Value::String)),
        (
            "OpportunityId",
            task.opportunity_id.clone().map(Value::String),
        ),
        (
            "ResourceSnapshotJobId",
            task.resource_snapshot_job_id.clone().map(Value::String),
        ),
        (
            "EngagementId",
            if with_engagement {
                task.engagement_id.clone().map(Value::String)
            } else {
                None
            },
        ),
        (
            "EngagementInvitationId",
            task.engagement_invitation_id.clone().map(Value::String),
        ),
    ])
}

type TaskKey = fn(&Task) -> Option<String>;

/// Tasks of `catalog` filtered by `TaskStatus`, `TaskIdentifier` and the given id lists, sorted
/// by `StartTime` (newest first unless `ASCENDING`).
pub(super) fn filter_tasks<'t>(
    tasks: &'t [Task],
    input: &Value,
    by: &[(&str, TaskKey)],
) -> Vec<&'t Task> {
    let catalog = str_of(input, "Catalog");
    let statuses = filter_list(input, "TaskStatus");
    let task_ids = filter_list(input, "TaskIdentifier");
    let mut out: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.catalog == catalog)
        .filter(|t| statuses.as_ref().is_none_or(|s| s.contains(&t.status)))
        .filter(|t| {
            task_ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|i| *i == t.id || *i == t.arn))
        })
        .filter(|t| {
            by.iter().all(|(member, key)| {
                filter_list(input, member)
                    .is_none_or(|wanted| key(t).is_some_and(|k| wanted.contains(&k)))
            })
        })
        .collect();
    out.sort_by_key(|t| (t.start_time, t.id.clone()));
    if descending(input, true) {
        out.reverse();
    }
    out
}
