//! The soak benchmark, short: 2 minutes against dynalite through the fault proxy, with the
//! checks of the 30-minute run (`scripts/soak`): resident memory flat after the warm-up, every
//! per-key map within its bound and not growing, no panic, every acknowledged write read
//! back. Needs dynalite: `scripts/test` starts it; without it the test fails.

use std::collections::HashMap;
use std::time::Duration;

use dynamorator::{Cache, CacheConfig, Store};
use dynamorator_testkit::TestBackend;
use dynamorator_testkit::soak::{self, SoakConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_minutes_of_mixed_load_under_faults_leave_nothing_behind() {
    let config = SoakConfig::new(TestBackend::Dynalite.endpoint(), Duration::from_secs(120));
    let report = match soak::run(&config).await {
        Ok(report) => report,
        Err(error) => panic!("the soak could not run: {error}"),
    };
    println!("{}", report.markdown());
    assert!(
        report.passed(),
        "the soak failed {} check(s):\n  {}",
        report.failures().len(),
        report.failures().join("\n  ")
    );
}

/// The sizes the soak samples count what is in flight, and nothing once it is done.
#[tokio::test]
async fn engine_sizes_count_a_batch_call_in_flight() {
    let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    assert_eq!(cache.__engine_sizes(), Default::default());
    let (release, gate) = tokio::sync::oneshot::channel::<()>();
    let (entered, loading) = tokio::sync::oneshot::channel::<()>();
    let call = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_many_or_insert_with(["a", "b", "c"], move |keys| async move {
                    let _ = entered.send(());
                    let _ = gate.await;
                    Ok::<_, std::io::Error>(
                        keys.into_iter()
                            .map(|key| (key, 1))
                            .collect::<HashMap<_, _>>(),
                    )
                })
                .await
        })
    };
    loading.await.expect("the loader runs");
    assert_eq!(cache.__engine_sizes().claims, 3, "three keys claimed");
    let _ = release.send(());
    let values = call.await.expect("no panic").expect("loaded");
    assert_eq!(values.len(), 3);
    assert_eq!(cache.__engine_sizes().claims, 0, "released");
}
