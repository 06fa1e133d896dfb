//! What the ingress does with a message before the queue: parse the SOAP envelope, verify its
//! origin, and encode one job per notification. For 1 and 100 notifications.

use std::hint::black_box;

use ace_sync::domain::ids::SfOrgId;
use ace_sync::ingress::samples;
use ace_sync::ingress::soap;
use ace_sync::ingress::verify::Verifier;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use time::OffsetDateTime;

fn parse_verify_encode(c: &mut Criterion) {
    let verifier = Verifier::new(
        vec![SfOrgId::parse("00D5g00000ABCdeEAH").expect("org id")],
        None,
        None,
    );
    let mut group = c.benchmark_group("parse_verify_encode");
    for count in [1usize, 100] {
        let body = samples::message_with(count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_function(format!("{count}_notifications"), |b| {
            b.iter(|| {
                let message = soap::parse(black_box(body.as_bytes())).expect("parses");
                let verified = verifier.verify(message).expect("verifies");
                let jobs = verified.into_jobs(OffsetDateTime::UNIX_EPOCH);
                let encoded: usize = jobs
                    .iter()
                    .map(|job| job.encode().len() + job.dedup_id().len())
                    .sum();
                black_box(encoded)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_verify_encode);
criterion_main!(benches);
