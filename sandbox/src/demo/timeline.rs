//! One opportunity's timeline, gathered after the fact from what the simulators recorded —
//! the rep's changes (and the answers to their "Check with ACE"), Salesforce's delivery log and
//! REST request log, Partner Central's call log and opportunity history — and rendered as
//! aligned lines with relative times.
//!
//! Nothing here reads logs of ace-sync itself: what is shown is what the outside world saw.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::partner_central::SimControl;
use crate::salesforce::{DeliveryOutcome, LoggedRequest, SalesforceSim};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::FieldValue;
use ace_sync::worker::reconcile::fields;
use ace_sync::worker::referrals::fields as referral_fields;

/// Text lines are cut to this many characters.
pub(super) const WIDTH: usize = 78;

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Actor {
    Rep,
    /// ace-sync's answer to "Check with ACE", as the rep's screen shows it.
    Check,
    Outbound,
    Worker,
    Ace,
    Aws,
    WriteBack,
}

impl Actor {
    fn label(self) -> &'static str {
        match self {
            Actor::Rep => "rep",
            Actor::Check => "check",
            Actor::Outbound => "outbound",
            Actor::Worker => "worker",
            Actor::Ace => "ACE",
            Actor::Aws => "AWS",
            Actor::WriteBack => "write-back",
        }
    }
}

/// One line of the timeline (with continuation lines in `more`).
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// When it was done (a call answered, a message acknowledged, a write applied).
    pub at: Instant,
    pub actor: Actor,
    pub text: String,
    pub more: Vec<String>,
    /// ACE calls, for merging consecutive ones into one line.
    calls: Vec<String>,
}

impl Entry {
    pub fn new(at: Instant, actor: Actor, text: impl Into<String>) -> Entry {
        Entry {
            at,
            actor,
            text: text.into(),
            more: Vec::new(),
            calls: Vec::new(),
        }
    }
}

/// What the simulators saw of `record` (and of its ACE opportunities) between `from` and
/// `to`, with the rep's own changes, in order.
pub(super) fn gather(
    sf: &SalesforceSim,
    pc: &SimControl,
    record: Option<&SfRecordId>,
    rep: &[Entry],
    from: Instant,
    to: Instant,
) -> Vec<Entry> {
    let within = |at: Instant| at >= from && at <= to;
    let mut entries: Vec<Entry> = rep.to_vec();
    // An AWS referral that never reached Salesforce has only its story's own lines.
    let Some(record) = record else {
        entries.sort_by_key(|e| e.at);
        return compact(entries);
    };
    let on_record = |name: &str| {
        sf.record(record)
            .and_then(|r| r.fields.get(name).map(FieldValue::to_text))
            .filter(|v| !v.is_empty())
    };
    // An AWS referral's record is found by its invitation id, and names its ACE opportunity.
    let invitation = on_record(referral_fields::INVITATION_ID);

    // Outbound messages: the ingress acknowledges only once the job is on the queue.
    let notifications: Vec<_> = sf
        .notifications()
        .into_iter()
        .filter(|n| &n.record_id == record)
        .map(|n| n.id)
        .collect();
    // Shown when the POST started: the job can be on the queue, and even with a worker,
    // before Salesforce has read the acknowledgement.
    let mut acked = Vec::new();
    for attempt in sf.deliveries() {
        if !within(attempt.sent_at)
            || !attempt
                .notifications
                .iter()
                .any(|n| notifications.contains(n))
        {
            continue;
        }
        let post = duration(attempt.answered_at.duration_since(attempt.sent_at));
        let text = match &attempt.outcome {
            DeliveryOutcome::Acked => {
                acked.push(attempt.sent_at);
                format!("POST to the ingress: job queued, acked in {post}")
            }
            DeliveryOutcome::Failed { reason } => {
                format!("POST to the ingress failed after {post} ({reason}); Salesforce retries")
            }
        };
        entries.push(Entry::new(attempt.sent_at, Actor::Outbound, text));
    }

    // The worker's reads and write-backs of the record. Of the reads, only the first after
    // each delivery shows: where a worker picked the job up.
    let quoted = format!("'{record}'");
    let quoted_invitation = invitation.as_ref().map(|i| format!("'{i}'"));
    let patch_path = format!("/sobjects/Opportunity/{record}");
    let upsert_path = invitation.as_ref().map(|i| {
        format!(
            "/sobjects/Opportunity/{}/{i}",
            referral_fields::INVITATION_ID
        )
    });
    let requests: Vec<LoggedRequest> = sf.requests().into_iter().filter(|r| within(r.at)).collect();
    let is_read = |r: &LoggedRequest| {
        r.method == "GET"
            && r.soql.as_deref().is_some_and(|q| {
                q.contains(&quoted) || quoted_invitation.as_ref().is_some_and(|i| q.contains(i))
            })
    };
    for (i, sent) in acked.iter().enumerate() {
        let next = acked.get(i + 1).copied();
        if let Some(read) = requests
            .iter()
            .find(|r| is_read(r) && r.at >= *sent && next.is_none_or(|n| r.at < n))
        {
            entries.push(Entry::new(
                read.at,
                Actor::Worker,
                "picks the job up and reads the record",
            ));
        }
    }
    for request in &requests {
        let upsert = upsert_path
            .as_ref()
            .is_some_and(|p| request.method == "PATCH" && request.path.ends_with(p));
        let account = request.method == "POST" && request.path.ends_with("/sobjects/Account");
        if !(upsert || account || request.method == "PATCH" && request.path.ends_with(&patch_path))
        {
            continue;
        }
        let body = request.body.as_deref().unwrap_or("{}");
        let mut entry = if account {
            let written: BTreeMap<String, Value> = serde_json::from_str(body).unwrap_or_default();
            Entry::new(
                request.at,
                Actor::WriteBack,
                format!(
                    "creates the account {}",
                    written.get("Name").and_then(Value::as_str).unwrap_or("?")
                ),
            )
        } else {
            write_back(request.at, body)
        };
        if upsert {
            let mut parts = vec!["creates the record from the referral".to_owned()];
            parts.extend(entry.text.split(" · ").map(str::to_owned));
            let mut lines = wrap(&parts, " · ", WIDTH).into_iter();
            entry.text = lines.next().unwrap_or_default();
            entry.more = lines.chain(entry.more).collect();
        }
        if request.status >= 300 {
            entry.text = format!("refused by Salesforce ({}): {}", request.status, entry.text);
        }
        entries.push(entry);
    }

    // ACE: the calls about this record's opportunities, and how each of them changed.
    let mut ace_ids: Vec<String> = pc
        .opportunities()
        .iter()
        .filter(|o| o["PartnerOpportunityIdentifier"] == record.as_str())
        .filter_map(|o| o["Id"].as_str().map(str::to_owned))
        .collect();
    ace_ids.extend(on_record(fields::ACE_ID).filter(|id| !ace_ids.contains(id)));
    for call in pc.call_log() {
        let ours = match &call.resource_id {
            Some(id) => ace_ids.contains(id) || invitation.as_ref() == Some(id),
            // A list names nothing; the demo runs one opportunity at a time.
            None => within(call.at),
        };
        if !ours || !within(call.at) {
            continue;
        }
        let mut label = call.operation.clone();
        if call.operation == "CreateOpportunity"
            && let Some(id) = &call.resource_id
        {
            label = format!("{label} → {id}");
        }
        if let Some(error) = call.error {
            label = format!("{label} ✗ {error}");
        }
        let mut entry = Entry::new(call.at, Actor::Ace, "");
        entry.calls.push(label);
        entries.push(entry);
    }
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for change in pc.opportunity_history() {
        if !ace_ids.contains(&change.opportunity_id) {
            continue;
        }
        let now = change.review_status.clone();
        let Some(review) = last.insert(change.opportunity_id.clone(), now.clone()) else {
            continue;
        };
        if !within(change.at) {
            continue;
        }
        // AWS's own moves only: a submission, or a stage the partner sets, is one of the calls
        // above and shows in the write-back.
        if review != now && now != "Submitted" {
            let prefix = if ace_ids.len() > 1 {
                format!("{}: ", change.opportunity_id)
            } else {
                String::new()
            };
            entries.push(Entry::new(
                change.at,
                Actor::Aws,
                format!("{prefix}review {review} → {now}"),
            ));
        }
    }

    entries.sort_by_key(|e| e.at);
    compact(entries)
}

/// Keeps the timeline short: consecutive ACE calls share a line.
fn compact(entries: Vec<Entry>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for mut entry in entries {
        if !entry.calls.is_empty()
            && let Some(last) = out.last_mut()
            && !last.calls.is_empty()
        {
            last.calls.append(&mut entry.calls);
            last.at = entry.at;
            continue;
        }
        out.push(entry);
    }
    for entry in &mut out {
        if !entry.calls.is_empty() {
            let lines = wrap(&count_repeats(&entry.calls), ", ", WIDTH);
            let mut lines = lines.into_iter();
            entry.text = lines.next().unwrap_or_default();
            entry.more = lines.collect();
        }
    }
    out
}

/// `A, B, C, B, B` as `A, B ×3, C`: each call once, in the order first made, with a count.
fn count_repeats(calls: &[String]) -> Vec<String> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for call in calls {
        match out.iter_mut().find(|(seen, _)| seen == call) {
            Some((_, n)) => *n += 1,
            None => out.push((call.clone(), 1)),
        }
    }
    out.into_iter()
        .map(|(call, n)| if n > 1 { format!("{call} ×{n}") } else { call })
        .collect()
}

/// Items joined by `separator`, broken into lines of at most `width` characters (a line
/// that breaks ends with the separator, trimmed).
fn wrap(items: &[String], separator: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for item in items {
        let candidate = if line.is_empty() {
            item.clone()
        } else {
            format!("{line}{separator}{item}")
        };
        if candidate.chars().count() > width && !line.is_empty() {
            lines.push(format!("{line}{}", separator.trim_end()));
            line = item.clone();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A write-back, as the rep would notice it on the record.
fn write_back(at: Instant, body: &str) -> Entry {
    let written: BTreeMap<String, Value> = serde_json::from_str(body).unwrap_or_default();
    let text_of = |field: &str| written.get(field).and_then(Value::as_str);
    let mut parts = Vec::new();
    if let Some(id) = text_of(fields::ACE_ID) {
        parts.push(format!("ACE id {id}"));
    }
    if let Some(ids) = text_of(fields::PREVIOUS_IDS) {
        parts.push(format!("previous ACE ids {ids}"));
    }
    if let Some(review) = text_of(fields::REVIEW_STATUS) {
        parts.push(format!("review {review}"));
    }
    if let Some(stage) = text_of(fields::STAGE) {
        parts.push(format!("ACE stage {stage}"));
    }
    if let Some(status) = text_of(referral_fields::INVITATION_STATUS) {
        parts.push(format!("referral {status}"));
    }
    if let Some(status) = text_of(fields::SYNC_STATUS) {
        parts.push(status.to_owned());
    }
    if written.contains_key("AccountId") {
        parts.push("account".to_owned());
    }
    if let Some(contacts) = text_of("ACE_Customer_Contacts__c") {
        parts.push(format!("customer contacts ({})", contacts.lines().count()));
    }
    if let Some(team) = text_of(fields::AWS_TEAM) {
        parts.push(format!("AWS team ({})", team.lines().count()));
    }
    if text_of(fields::NEXT_STEPS).is_some() {
        parts.push("next steps".to_owned());
    }
    if let Some(score) = text_of(fields::ENGAGEMENT_SCORE) {
        parts.push(format!("engagement score {score}"));
    }
    if let Some(reason) = text_of(fields::REVIEW_REASON) {
        parts.push(format!("reason {reason}"));
    }
    match (
        written.get(fields::REVIEW_COMMENTS),
        written.get(fields::REVIEW_REASON),
    ) {
        (Some(Value::String(_)), _) => parts.push("AWS's comments".to_owned()),
        (Some(Value::Null), _) | (_, Some(Value::Null)) => {
            parts.push("AWS's earlier comments cleared".to_owned());
        }
        _ => {}
    }
    let mut more = Vec::new();
    match written.get(fields::FINDINGS) {
        Some(Value::Null) => parts.push("findings cleared".to_owned()),
        Some(Value::String(findings)) => {
            parts.push("findings:".to_owned());
            more = findings
                .lines()
                .filter(|l| !l.trim().is_empty())
                .flat_map(|l| wrap_words(l.trim(), WIDTH, 3))
                .collect();
        }
        _ => {}
    }
    if parts.is_empty() {
        let names: Vec<&str> = written.keys().map(String::as_str).collect();
        parts.push(format!("bookkeeping: {}", names.join(", ")));
    }
    let mut lines = wrap(&parts, " · ", WIDTH).into_iter();
    let mut entry = Entry::new(at, Actor::WriteBack, lines.next().unwrap_or_default());
    entry.more = lines.chain(more).collect();
    entry
}

/// `text` in lines of at most `width` characters, broken between words, at most `max_lines`
/// of them (the last cut with an ellipsis); continuation lines are indented.
pub(super) fn wrap_words(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let indent = if lines.is_empty() { "" } else { "  " };
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > width
        {
            lines.push(format!("{indent}{line}"));
            line = String::new();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let indent = if lines.is_empty() { "" } else { "  " };
        lines.push(format!("{indent}{line}"));
    }
    if lines.len() > max_lines {
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(cut(&rest, width));
    }
    lines
}

/// At most `max` characters, with an ellipsis when cut.
pub(super) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text.chars().count() > max => format!("{}…", &text[..at]),
        _ => text.to_owned(),
    }
}

/// `12ms`, `1.25s`.
pub(super) fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

/// The timeline as aligned lines: time since `origin`, time since the line before, who, what.
pub(super) fn render(entries: &[Entry], origin: Instant) -> Vec<String> {
    let mut lines = Vec::new();
    let mut previous: Option<Instant> = None;
    for entry in entries {
        let since = entry.at.saturating_duration_since(origin);
        let step = previous
            .map(|p| duration(entry.at.saturating_duration_since(p)))
            .unwrap_or_default();
        previous = Some(entry.at);
        lines.push(format!(
            "  {:>7}  {:>6}  {:<10}  {}",
            format!("+{:.2}s", since.as_secs_f64()),
            step,
            entry.actor.label(),
            entry.text
        ));
        for more in &entry.more {
            lines.push(format!("  {:>7}  {:>6}  {:<10}    {more}", "", "", ""));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_calls_are_counted_and_long_lists_wrap() {
        let calls: Vec<String> = ["A", "B", "C", "B", "B"].map(String::from).to_vec();
        assert_eq!(count_repeats(&calls), ["A", "B ×3", "C"]);
        let items: Vec<String> = ["aaaa", "bbbb", "cccc"].map(String::from).to_vec();
        assert_eq!(wrap(&items, ", ", 10), ["aaaa, bbbb,", "cccc"]);
        assert_eq!(wrap(&items, ", ", 100), ["aaaa, bbbb, cccc"]);
        assert_eq!(wrap(&items, " · ", 11), ["aaaa · bbbb ·", "cccc"]);
    }

    #[test]
    fn a_write_back_names_what_the_rep_sees() {
        let at = Instant::now();
        let entry = write_back(
            at,
            r#"{"ACE_Opportunity_Id__c":"O1000001","ACE_Review_Status__c":"Submitted","ACE_Sync_Status__c":"Waiting for AWS review","ACE_Findings__c":"• one\n• two","ACE_Last_Synced__c":"2026-01-01T00:00:00.000+0000"}"#,
        );
        assert_eq!(
            entry.text,
            "ACE id O1000001 · review Submitted · Waiting for AWS review · findings:"
        );
        assert_eq!(entry.more, ["• one", "• two"]);
        let cleared = write_back(at, r#"{"ACE_Findings__c":null}"#);
        assert_eq!(cleared.text, "findings cleared");
    }

    #[test]
    fn long_findings_wrap_between_words_up_to_a_few_lines() {
        assert_eq!(wrap_words("one two three", 8, 3), ["one two", "  three"]);
        assert_eq!(wrap_words("short", 80, 3), ["short"]);
        let long = wrap_words("a b c d e f g h", 3, 2);
        assert_eq!(long.len(), 2, "{long:?}");
        assert!(long[1].ends_with('…'), "{long:?}");
    }

    #[test]
    fn texts_are_cut_with_an_ellipsis_and_durations_read_naturally() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_millis(1250)), "1.25s");
    }

    #[test]
    fn consecutive_calls_share_a_line() {
        let t = Instant::now();
        let call = |op: &str, ms: u64| {
            let mut e = Entry::new(t + Duration::from_millis(ms), Actor::Ace, "");
            e.calls.push(op.to_owned());
            e
        };
        let entries = vec![
            Entry::new(t, Actor::Outbound, "acked"),
            Entry::new(t + Duration::from_millis(1), Actor::Worker, "reads"),
            call("CreateOpportunity", 2),
            call("AssociateOpportunity", 3),
            call("AssociateOpportunity", 4),
            Entry::new(t + Duration::from_millis(6), Actor::WriteBack, "ACE id"),
            call("GetOpportunity", 7),
        ];
        let out = compact(entries);
        let shown: Vec<(&str, &str)> = out
            .iter()
            .map(|e| (e.actor.label(), e.text.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("outbound", "acked"),
                ("worker", "reads"),
                ("ACE", "CreateOpportunity, AssociateOpportunity ×2"),
                ("write-back", "ACE id"),
                ("ACE", "GetOpportunity"),
            ]
        );
        assert_eq!(
            out[2].at,
            t + Duration::from_millis(4),
            "the last call's time"
        );
        let lines = render(&out, t);
        assert!(lines[0].starts_with("   +0.00s"), "{lines:?}");
        assert!(lines[1].contains("1ms  worker"), "{lines:?}");
    }
}
