//! The one HTTP/TLS stack the library builds with (the SDK's default client: hyper 1, rustls)
//! serves `https://` endpoints: a store builds against one, and its requests speak TLS. No
//! network: every endpoint is on 127.0.0.1, and nothing answers a request.

mod support;

use std::time::Duration;

use dynamorator::{Error, Store, StoreBuilder};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use support::sdk_config;

/// A builder for a DynamoDB store at `endpoint`: dummy credentials (nothing looks for real
/// ones), no table set-up, no retries and short timeouts.
async fn builder(endpoint: &str) -> StoreBuilder {
    Store::builder()
        .sdk_config(sdk_config(endpoint).await)
        .table("https-test")
        .endpoint_url(endpoint)
        .region("us-east-1")
        .create_table(false)
        .max_attempts(1)
        .connect_timeout(Duration::from_secs(1))
        .attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
}

fn assert_unreachable_or_timeout(outcome: Result<Option<Value>, Error>) {
    match outcome {
        Err(Error::Unreachable { .. } | Error::Timeout { .. }) => {}
        other => panic!("expected Unreachable or Timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_store_builds_against_an_https_endpoint_and_a_closed_port_is_unreachable() {
    let store = builder("https://127.0.0.1:9")
        .await
        .build()
        .await
        .expect("a store builds against an https endpoint without touching the network");
    assert_unreachable_or_timeout(store.get::<Value>("k").await);
}

#[tokio::test]
async fn requests_to_an_https_endpoint_open_with_a_tls_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("https://{}", listener.local_addr().unwrap());
    // Reads the first bytes the client sends on its first connection, then hangs up.
    let first_bytes = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut header = [0u8; 3];
        tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut header))
            .await
            .expect("the client sends its first bytes within 5 s")
            .expect("the client sends at least a record header");
        header
    });
    let store = builder(&endpoint).await.build().await.unwrap();
    assert_unreachable_or_timeout(store.get::<Value>("k").await);
    let header = first_bytes.await.unwrap();
    // A TLS record: content type 22 (handshake), protocol version 3.x. Plain HTTP would
    // start with "POS".
    assert_eq!(
        (header[0], header[1]),
        (0x16, 0x03),
        "the client opened with {header:?}, not a TLS handshake"
    );
}
