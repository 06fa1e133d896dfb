//! The service's asynchronous tasks (ace-api.md §3 StartEngagementFromOpportunityTask,
//! StartEngagementByAcceptingInvitationTask): a Start…Task call starts one `IN_PROGRESS`; it
//! ends `COMPLETE` or `FAILED` when the configured [`TaskTiming`] says, and its effects happen
//! then. Also how Start…Task answers and List…Tasks summaries render a task in its current
//! state, and how the lists filter and sort them.

use std::time::Duration;

use serde_json::Value;

use super::error::ApiError;
use super::service::{Sim, descending, filter_list, object, page, str_of, text};
use super::store::{self, State, Task, TaskKind, TaskStatus};
use super::timers::TimerAction;

/// When a Start…Task task ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskTiming {
    /// Within the Start…Task call: its answer is already `COMPLETE` or `FAILED`. Not what
    /// AWS does, but what a client written against that answer expects.
    Immediate,
    /// As AWS does: the call answers `IN_PROGRESS` and the task ends this much later; its
    /// current state is what List…Tasks (or the same Start…Task call again) reports.
    After(Duration),
    /// `IN_PROGRESS` until the control API finishes it ([`SimControl::finish_tasks`]).
    ///
    /// [`SimControl::finish_tasks`]: super::SimControl::finish_tasks
    Manual,
}

impl TaskTiming {
    /// A few seconds, as a task that creates an engagement, a snapshot job and an invitation
    /// takes (AWS documents no figure; UNCONFIRMED).
    pub const REALISTIC: TaskTiming = TaskTiming::After(Duration::from_secs(3));
}

impl Sim {
    /// Starts a task of `kind` for `input` (its Start…Task request), about `opportunity_id`
    /// or `invitation_id`, and lets it run as the timing says; its id.
    pub(super) fn start_task(
        &self,
        state: &mut State,
        kind: TaskKind,
        input: &Value,
        opportunity_id: Option<String>,
        invitation_id: Option<String>,
    ) -> String {
        let catalog = str_of(input, "Catalog");
        let id = format!("task-{}", store::random_id(13));
        state.tasks_mut(kind).push(Task {
            arn: self.arn(catalog, kind.arn_kind(), &id),
            id: id.clone(),
            kind,
            catalog: catalog.to_owned(),
            start_time: store::now(),
            status: TaskStatus::InProgress,
            message: None,
            reason_code: None,
            opportunity_id,
            resource_snapshot_job_id: None,
            engagement_id: None,
            engagement_invitation_id: invitation_id,
            request: input.clone(),
        });
        match self.tasks {
            TaskTiming::Immediate => self.finish_task(state, kind, &id),
            TaskTiming::After(delay) => self.schedule(
                delay,
                TimerAction::FinishTask {
                    kind,
                    task_id: id.clone(),
                },
            ),
            TaskTiming::Manual => {}
        }
        id
    }

    /// Runs a task still in progress to its end: its work, then `COMPLETE` or `FAILED`.
    pub(super) fn finish_task(&self, state: &mut State, kind: TaskKind, id: &str) {
        if state
            .task(kind, id)
            .is_none_or(|t| t.status != TaskStatus::InProgress)
        {
            return;
        }
        match kind {
            TaskKind::EngagementFromOpportunity => self.run_engagement_from_opportunity(state, id),
            TaskKind::EngagementByAcceptingInvitation => {
                self.run_engagement_by_accepting_invitation(state, id)
            }
        }
    }

    /// Ends every task in progress now (control API); their ids.
    pub(super) fn finish_tasks_in_progress(&self) -> Vec<String> {
        let mut state = self.state();
        let mut finished = Vec::new();
        for kind in [
            TaskKind::EngagementFromOpportunity,
            TaskKind::EngagementByAcceptingInvitation,
        ] {
            let ids: Vec<String> = state
                .tasks(kind)
                .iter()
                .filter(|t| t.status == TaskStatus::InProgress)
                .map(|t| t.id.clone())
                .collect();
            for id in ids {
                self.finish_task(&mut state, kind, &id);
                finished.push(id);
            }
        }
        finished
    }

    /// Ends every task in progress now as `FAILED` with AWS's `reason_code` and `message`,
    /// without its work (control API: a task that fails for a reason the simulator does not
    /// produce itself); their ids.
    pub(super) fn fail_tasks_in_progress(&self, reason_code: &str, message: &str) -> Vec<String> {
        let mut state = self.state();
        let mut failed = Vec::new();
        for kind in [
            TaskKind::EngagementFromOpportunity,
            TaskKind::EngagementByAcceptingInvitation,
        ] {
            for task in state.tasks_mut(kind) {
                if task.status == TaskStatus::InProgress {
                    task.fail(reason_code, message);
                    failed.push(task.id.clone());
                }
            }
        }
        failed
    }

    /// A Start…Task call: the same ClientToken and body answer the task it started, in its
    /// current state (AWS: "call … again with the same payload to check the latest status");
    /// a new token starts a task with `start`, which refuses what is not there synchronously.
    pub(super) fn start_or_replay(
        &self,
        kind: TaskKind,
        input: &Value,
        start: impl FnOnce(&mut State) -> Result<String, ApiError>,
    ) -> Result<Value, ApiError> {
        let mut state = self.state();
        let previous = self.replay(&state, kind.operation(), input)?;
        let task_id = match &previous {
            Some(previous) => str_of(previous, "TaskId").to_owned(),
            None => start(&mut state)?,
        };
        let response = state
            .task(kind, &task_id)
            .map(task_document)
            .or(previous)
            .ok_or_else(|| ApiError::InternalServer(format!("task {task_id} is gone")))?;
        self.remember(&mut state, kind.operation(), input, &response);
        Ok(response)
    }
}

/// A task in its current state, as its Start…Task response and task summaries render it
/// (tasks that accept an invitation have no `EngagementId` member).
pub(super) fn task_document(task: &Task) -> Value {
    let with_engagement = task.kind == TaskKind::EngagementFromOpportunity;
    object(vec![
        ("TaskId", text(&task.id)),
        ("TaskArn", text(&task.arn)),
        ("StartTime", text(store::format_time(task.start_time))),
        ("TaskStatus", text(task.status.as_str())),
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

impl Sim {
    /// A List…Tasks operation: the tasks of `kind` filtered by the request (see
    /// [`filter_tasks`]), one page of them.
    pub(super) fn list_tasks(
        &self,
        kind: TaskKind,
        input: &Value,
        by: &[(&str, TaskKey)],
    ) -> Result<Value, ApiError> {
        let state = self.state();
        let tasks = filter_tasks(state.tasks(kind), input, by);
        let (items, next) = page(tasks, input, 20)?;
        Ok(object(vec![
            (
                "TaskSummaries",
                Some(Value::Array(items.into_iter().map(task_document).collect())),
            ),
            ("NextToken", next.map(Value::String)),
        ]))
    }
}

/// Tasks of `catalog` filtered by `TaskStatus`, `TaskIdentifier` and the given id lists, sorted
/// by `StartTime` (newest first unless `ASCENDING`).
fn filter_tasks<'t>(tasks: &'t [Task], input: &Value, by: &[(&str, TaskKey)]) -> Vec<&'t Task> {
    let catalog = str_of(input, "Catalog");
    let statuses = filter_list(input, "TaskStatus");
    let task_ids = filter_list(input, "TaskIdentifier");
    let mut out: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.catalog == catalog)
        .filter(|t| {
            statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == t.status.as_str()))
        })
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
