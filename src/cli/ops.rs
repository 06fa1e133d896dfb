//! The operator commands on a running deployment: `dlq`, `backfill`, `reconcile`.

use time::OffsetDateTime;

use super::{CommandError, DlqCommand, boxed};
use crate::config::Settings;
use crate::domain::ids::SfOpportunityId;
use crate::ops::backfill::{self, Parts, Selection};
use crate::ops::drift;
use crate::startup::OperatorParts;

/// Which records `backfill` and `reconcile` take.
#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Only records in this stage (repeatable); by default every stage the mapping maps.
    #[arg(long = "stage", value_name = "STAGE")]
    pub stages: Vec<String>,
    /// Only records modified since then: a date (2026-01-31, UTC midnight) or an RFC 3339
    /// instant.
    #[arg(long, value_parser = parse_since)]
    pub since: Option<OffsetDateTime>,
    /// Only this record (repeatable); the other conditions are then not used.
    #[arg(long = "record", value_name = "ID", value_parser = parse_record)]
    pub records: Vec<SfOpportunityId>,
    /// At most this many records, the most recently modified first.
    #[arg(long)]
    pub limit: Option<usize>,
}

impl SelectArgs {
    fn selection(self, default_limit: usize) -> Selection {
        Selection {
            records: self.records,
            stages: self.stages,
            since: self.since,
            limit: self.limit.unwrap_or(default_limit),
        }
    }
}

fn parse_since(raw: &str) -> Result<OffsetDateTime, String> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(raw, day) {
        return Ok(date.midnight().assume_utc());
    }
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("{raw:?} is neither a date (2026-01-31) nor an RFC 3339 instant"))
}

fn parse_record(raw: &str) -> Result<SfOpportunityId, String> {
    SfOpportunityId::parse(raw).map_err(|e| e.to_string())
}

/// `ace-sync backfill`.
pub(super) async fn backfill(
    settings: &Settings,
    select: SelectArgs,
    options: backfill::Options,
) -> Result<(), Box<dyn std::error::Error>> {
    if !options.dry_run && settings.queue.changes_queue_url.is_none() {
        return Err(boxed(CommandError::Usage(
            "`queue.changes_queue_url` is not set: the backfill queues its reconciles for the workers (try --dry-run first)".to_owned(),
        )));
    }
    let parts = OperatorParts::build(settings).await.map_err(boxed)?;
    let report = backfill::backfill(
        &Parts {
            preview: &parts.preview,
            salesforce: &*parts.salesforce,
            ace: &*parts.ace,
            lanes: parts.lanes.as_ref(),
        },
        &select.selection(10_000),
        &options,
    )
    .await
    .map_err(boxed)?;
    print!("{}", report.render(options.dry_run));
    Ok(())
}

/// `ace-sync reconcile [--report]`.
pub(super) async fn reconcile(
    settings: &Settings,
    select: SelectArgs,
    report: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let parts = OperatorParts::build(settings).await.map_err(boxed)?;
    let selection = select.selection(200);
    if report {
        let found = drift::report(&parts.preview, &*parts.salesforce, &selection)
            .await
            .map_err(boxed)?;
        print!("{}", found.render());
        return Ok(());
    }
    let Some(lanes) = &parts.lanes else {
        return Err(boxed(CommandError::Usage(
            "`queue.changes_queue_url` is not set: reconciles are queued for the workers (--report compares without a queue)".to_owned(),
        )));
    };
    let queued = drift::queue(&parts.preview, &*parts.salesforce, lanes, &selection)
        .await
        .map_err(boxed)?;
    println!("{queued} reconcile(s) queued");
    Ok(())
}

/// `ace-sync dlq …` on the queue the settings name.
pub(super) async fn dlq(
    settings: &Settings,
    events: bool,
    command: DlqCommand,
) -> Result<(), CommandError> {
    use crate::adapters::sqs::{self, SendPolicy, SqsMetrics, SqsQueue};
    use crate::ops::dlq as ops;
    let (key, url) = if events {
        ("queue.events_queue_url", &settings.queue.events_queue_url)
    } else {
        ("queue.changes_queue_url", &settings.queue.changes_queue_url)
    };
    let Some(url) = url else {
        return Err(CommandError::Usage(format!(
            "`{key}` is not set: the dead-letter queue is found from its queue's redrive policy"
        )));
    };
    let client = sqs::client(&settings.queue).await;
    let metrics = SqsMetrics::register(&mut crate::metrics::registry());
    let open = |url: &url::Url| {
        SqsQueue::new(
            client.clone(),
            url,
            SendPolicy::from_settings(&settings.queue),
            metrics.clone(),
        )
        .with_receive_visibility(ops::peek_visibility())
    };
    let source = open(url);
    let redrive = source
        .redrive()
        .await
        .map_err(CommandError::Queue)?
        .ok_or_else(|| {
            CommandError::Usage(format!(
                "{url} has no redrive policy, so no dead-letter queue"
            ))
        })?;
    let dlq_url = url::Url::parse(&redrive.dead_letter_queue_url).map_err(|e| {
        CommandError::Usage(format!(
            "the dead-letter queue's URL {:?}: {e}",
            redrive.dead_letter_queue_url
        ))
    })?;
    let dlq = open(&dlq_url);
    match command {
        DlqCommand::Stats => {
            let parked = ops::list(&dlq).await.map_err(CommandError::Queue)?;
            println!("{} message(s) parked in {dlq_url}", parked.len());
            for (reason, count) in ops::stats(&parked) {
                println!("{count:>6}  {reason}");
            }
        }
        DlqCommand::List => {
            let parked = ops::list(&dlq).await.map_err(CommandError::Queue)?;
            print!("{}", ops::render_list(&parked));
            println!("{} message(s) parked in {dlq_url}", parked.len());
        }
        DlqCommand::Replay {
            record,
            reason,
            limit,
        } => {
            let filter = ops::Filter {
                record,
                reason,
                limit,
            };
            let moved = ops::replay(&dlq, &source, &filter)
                .await
                .map_err(CommandError::Replay)?;
            println!("{moved} message(s) moved back to {url}");
        }
    }
    Ok(())
}
