//! Criterion benchmark of the event queue: a hold model (pop one, schedule one) at several queue sizes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use des::{EventQueue, RngStreams, SimTime};
use rand::Rng;

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_queue_hold");
    for &size in &[100usize, 10_000, 1_000_000] {
        group.throughput(Throughput::Elements(1_000));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            let mut rng = RngStreams::new(1).stream("bench");
            let mut q = EventQueue::with_capacity(size + 1);
            for i in 0..size {
                q.schedule_at(SimTime(rng.random_range(0..1_000_000)), i as u32);
            }
            b.iter(|| {
                for _ in 0..1_000 {
                    let s = q.pop().expect("queue never empties in the hold model");
                    q.schedule_in(SimTime(rng.random_range(1..1_000_000)), s.event);
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
