//! Credentials and stored values never reach logs or `Debug` output: the crate's warnings name
//! keys and causes, not payloads.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use dynamorator::{Cache, CacheConfig, Store, Ttl};
use tracing_subscriber::fmt::MakeWriter;

const SECRET_KEY: &str = "wJalrXUtnFEMI-SECRET-ACCESS-KEY";
const SESSION_TOKEN: &str = "SESSION-TOKEN-NEVER-LOGGED";
const PAYLOAD: &str = "4111-1111-1111-1111 CARD NUMBER";

/// Everything the subscriber writes, kept for inspection.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in [SECRET_KEY, SESSION_TOKEN, PAYLOAD, "CARD NUMBER"] {
        assert!(!text.contains(secret), "{what} shows {secret:?}:\n{text}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn warnings_and_debug_output_show_no_credentials_or_values() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A DynamoDB store that cannot reach its server: every call fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            SECRET_KEY,
            Some(SESSION_TOKEN.to_owned()),
            None,
            "test",
        ))
        .endpoint_url(&endpoint)
        .load()
        .await;
    let remote = Store::builder()
        .table("secrets")
        .create_table(false)
        .max_attempts(1)
        .sdk_config(config)
        .build()
        .await
        .unwrap();
    // Every store call fails, and says so in its Result.
    let error = remote
        .put("card", &PAYLOAD, Ttl::days(1))
        .await
        .unwrap_err();
    let batch_error = remote
        .put_many([("card", PAYLOAD)], Ttl::days(1))
        .await
        .unwrap_err();
    let read_error = remote.get::<String>("card").await.unwrap_err();
    // Read-through answers past the failing store from its loader, and warns: once for the
    // read, once for the write of the loaded value.
    let remote_cache: Cache<String> = Cache::new(&remote, CacheConfig::new().ttl(Ttl::days(1)));
    let loaded = remote_cache
        .get_or_insert_with("card", || async {
            Ok::<_, std::io::Error>(PAYLOAD.to_owned())
        })
        .await
        .unwrap();
    assert_eq!(loaded, PAYLOAD);
    let loaded_many = remote_cache
        .get_many_or_insert_with(["card"], |missing| async move {
            Ok::<_, std::io::Error>(
                missing
                    .into_iter()
                    .map(|k| (k, PAYLOAD.to_owned()))
                    .collect(),
            )
        })
        .await
        .unwrap();
    assert_eq!(loaded_many["card"], PAYLOAD);

    // An embedded store holding a value that does not decode as the asked type: the error
    // and the cache's warning must not quote the stored text.
    let local = Store::embedded();
    local.put("card", &PAYLOAD, Ttl::days(1)).await.unwrap();
    let mismatch = local.get::<u64>("card").await.unwrap_err();
    let cache: Cache<u64> = Cache::new(&local, CacheConfig::new().ttl(Ttl::days(1)));
    assert_eq!(cache.get("card").await.unwrap(), None);
    assert_eq!(cache.stats().undecodable, 1);
    let read = local.get_many::<u64, _>(["card"]).await.unwrap();
    assert_eq!(read.failed_keys().collect::<Vec<_>>(), ["card"]);
    // Too large, with the payload in it.
    let oversized = local
        .put("big", &PAYLOAD.repeat(20_000), Ttl::days(1))
        .await
        .unwrap_err();

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    for warning in [
        "dynamorator: store failed; answering without it",
        "dynamorator: stored value not readable as the cache's type",
    ] {
        assert!(logs.contains(warning), "{warning:?} was logged:\n{logs}");
    }
    assert_clean("the logs", &logs);
    for (what, shown) in [
        ("the remote store's Debug", format!("{remote:?}")),
        ("the embedded store's Debug", format!("{local:?}")),
        ("an unreachable error", format!("{error:?} {error}")),
        (
            "a failed batch write",
            format!("{batch_error:?} {batch_error}"),
        ),
        ("a failed read", format!("{read_error:?} {read_error}")),
        ("a cache on the remote store", format!("{remote_cache:?}")),
        ("a type mismatch", format!("{mismatch:?} {mismatch}")),
        ("a batch read", format!("{read:?}")),
        ("an oversized item", format!("{oversized:?} {oversized}")),
        ("a cache's Debug", format!("{cache:?}")),
    ] {
        assert_clean(what, &shown);
    }
}
