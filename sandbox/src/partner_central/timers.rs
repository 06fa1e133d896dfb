//! What the simulated service does later on its own, as AWS's back end does: a review's next
//! step (automatic review timing), the end of an asynchronous task (delayed task timing), and
//! an engagement invitation's expiry. One loop receives the timers and fires each when due; it
//! holds the service weakly so a stopped simulator can go away.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::service::Sim;
use super::store::TaskKind;

/// Something to do once `after` has passed.
#[derive(Debug)]
pub(super) struct Timer {
    pub after: Duration,
    pub action: TimerAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TimerAction {
    /// Moves a review on, if it is still in `round` (a timer of an earlier submission is void).
    ReviewStep { opportunity_id: String, round: u64 },
    /// Ends a task that is still in progress.
    FinishTask { kind: TaskKind, task_id: String },
    /// Expires an invitation that is still pending.
    ExpireInvitation { invitation_id: String },
}

impl Sim {
    /// Does `action` after `after`.
    pub(super) fn schedule(&self, after: Duration, action: TimerAction) {
        // The receiver only goes away when the simulator stops; nothing is left to do then.
        let _ = self.timers.send(Timer { after, action });
    }

    fn fire(&self, action: TimerAction) {
        match action {
            TimerAction::ReviewStep {
                opportunity_id,
                round,
            } => {
                self.step_review(&opportunity_id, Some(round));
            }
            TimerAction::FinishTask { kind, task_id } => {
                let mut state = self.state();
                self.finish_task(&mut state, kind, &task_id);
            }
            TimerAction::ExpireInvitation { invitation_id } => {
                let mut state = self.state();
                self.expire_due(&mut state);
                // A timer may fire a moment before the clock reaches the expiration date.
                self.expire_invitation(&mut state, &invitation_id);
            }
        }
    }

    /// Runs the timers until `stop` fires.
    pub async fn run_timers(
        sim: Weak<Sim>,
        mut timers: mpsc::UnboundedReceiver<Timer>,
        stop: CancellationToken,
    ) {
        loop {
            let timer = tokio::select! {
                _ = stop.cancelled() => return,
                timer = timers.recv() => match timer { Some(t) => t, None => return },
            };
            let sim = sim.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(timer.after) => {
                        if let Some(sim) = sim.upgrade() {
                            sim.fire(timer.action);
                        }
                    }
                }
            });
        }
    }
}
