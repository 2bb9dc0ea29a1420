//! The proxy's listener and connections: each client connection gets its own upstream
//! connection, and each request on it is forwarded, delayed or faulted as configured.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::faults::{Fault, Faults};
use super::http::{json_response, read_message};

/// Configures a [`Proxy`]; see [`Proxy::start`].
#[derive(Debug)]
pub struct ProxyBuilder {
    upstream: SocketAddr,
    latency: Duration,
    faults: Faults,
}

impl ProxyBuilder {
    /// Delay each direction by this much (the round trip grows by twice it). Default: none.
    pub fn latency(mut self, one_way: Duration) -> Self {
        self.latency = one_way;
        self
    }

    /// The faults to inject. Default: none.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Listens on a free 127.0.0.1 port and serves until the [`Proxy`] is dropped.
    pub async fn spawn(self) -> std::io::Result<Proxy> {
        if !self.upstream.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the proxy forwards to loopback addresses only",
            ));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            upstream: self.upstream,
            latency: RwLock::new(self.latency),
            faults: RwLock::new(Arc::new(self.faults)),
            requests: AtomicU64::new(0),
            injected: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(accept(listener, state.clone()));
        Ok(Proxy {
            address,
            state,
            task,
        })
    }
}

/// A running proxy. Dropping it stops the listener and every connection.
#[derive(Debug)]
pub struct Proxy {
    address: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

/// What the proxy has seen and done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Requests read from clients.
    pub requests: u64,
    /// Faults injected, by kind.
    pub injected: HashMap<Fault, u64>,
}

impl ProxyStats {
    /// Faults injected, all kinds together.
    pub fn faults(&self) -> u64 {
        self.injected.values().sum()
    }
}

impl Proxy {
    /// A proxy in front of `upstream` (a loopback address), to configure and spawn.
    pub fn start(upstream: SocketAddr) -> ProxyBuilder {
        ProxyBuilder {
            upstream,
            latency: Duration::ZERO,
            faults: Faults::none(),
        }
    }

    /// A proxy without faults in front of a server's loopback endpoint
    /// (`http://127.0.0.1:PORT`), spawned; an endpoint elsewhere is refused.
    ///
    /// # Errors
    ///
    /// An endpoint that is not on the loopback address, or a proxy that cannot listen.
    pub async fn in_front_of(endpoint: &str) -> Result<Proxy, String> {
        let Some(address) = endpoint.strip_prefix("http://127.0.0.1:") else {
            return Err(format!("{endpoint}: loopback endpoints only"));
        };
        let upstream: SocketAddr = format!("127.0.0.1:{}", address.trim_end_matches('/'))
            .parse()
            .map_err(|e| format!("{endpoint}: {e}"))?;
        Proxy::start(upstream)
            .spawn()
            .await
            .map_err(|e| e.to_string())
    }

    /// The endpoint URL clients should use.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Changes the faults from the next request on (e.g. `Faults::none()` to verify a run).
    pub fn set_faults(&self, faults: Faults) {
        *self
            .state
            .faults
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(faults);
    }

    /// Changes the one-way latency from the next request on.
    pub fn set_latency(&self, one_way: Duration) {
        *self
            .state
            .latency
            .write()
            .unwrap_or_else(PoisonError::into_inner) = one_way;
    }

    /// Requests seen and faults injected so far.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            requests: self.state.requests.load(Ordering::Relaxed),
            injected: self
                .state
                .injected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Aborting the listener drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

#[derive(Debug)]
struct State {
    upstream: SocketAddr,
    latency: RwLock<Duration>,
    faults: RwLock<Arc<Faults>>,
    requests: AtomicU64,
    injected: Mutex<HashMap<Fault, u64>>,
}

impl State {
    fn latency(&self) -> Duration {
        *self.latency.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn draw(&self, request: &[u8]) -> (Option<Fault>, Duration) {
        let faults = self
            .faults
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let fault = faults.draw(operation(request).as_deref());
        if let Some(fault) = fault {
            *self
                .injected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(fault)
                .or_default() += 1;
        }
        (fault, faults.stall)
    }
}

/// The DynamoDB operation of a request, lowercase (`updateitem`), from its `X-Amz-Target`
/// header (`DynamoDB_20120810.UpdateItem`).
fn operation(request: &[u8]) -> Option<String> {
    let end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    head.lines().find_map(|line| {
        let value = line.strip_prefix("x-amz-target:")?;
        Some(value.trim().rsplit('.').next()?.to_owned())
    })
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let _ = client.set_nodelay(true);
                    connections.spawn(serve(client, state.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished connections so the set does not grow with every one.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type Upstream = (BufReader<OwnedReadHalf>, OwnedWriteHalf);

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded (injected by the test proxy)"}"#;
const INTERNAL: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected by the test proxy"}"#;
const UNAVAILABLE: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"injected by the test proxy"}"#;

/// One client connection: requests in order, each forwarded or faulted. Returning closes it.
async fn serve(client: TcpStream, state: Arc<State>) {
    let (client_read, mut client_write) = client.into_split();
    let mut client_read = BufReader::new(client_read);
    let mut upstream: Option<Upstream> = None;
    while let Ok(Some(request)) = read_message(&mut client_read).await {
        state.requests.fetch_add(1, Ordering::Relaxed);
        let (fault, stall) = state.draw(&request);
        let answer = match fault {
            Some(Fault::DropBeforeForward) => return,
            Some(Fault::InternalError) => {
                Some(json_response(500, "Internal Server Error", INTERNAL))
            }
            Some(Fault::Unavailable) => {
                Some(json_response(503, "Service Unavailable", UNAVAILABLE))
            }
            Some(Fault::Throttle) => Some(json_response(400, "Bad Request", THROTTLED)),
            Some(Fault::Stall) => {
                tokio::time::sleep(stall).await;
                return;
            }
            _ => None,
        };
        if let Some(answer) = answer {
            if client_write.write_all(&answer).await.is_err() {
                return;
            }
            continue;
        }
        let latency = state.latency();
        tokio::time::sleep(latency).await;
        let Some(response) = forward(&mut upstream, state.upstream, &request).await else {
            return;
        };
        match fault {
            Some(Fault::DropAfterForward) => return,
            Some(Fault::CutResponse) => {
                let _ = client_write
                    .write_all(&response[..response.len() / 2])
                    .await;
                return;
            }
            _ => {}
        }
        tokio::time::sleep(latency).await;
        if client_write.write_all(&response).await.is_err() {
            return;
        }
    }
}

/// Sends a request upstream (connecting on first use) and reads the whole response.
async fn forward(
    upstream: &mut Option<Upstream>,
    address: SocketAddr,
    request: &[u8],
) -> Option<Vec<u8>> {
    if upstream.is_none() {
        let stream = TcpStream::connect(address).await.ok()?;
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        *upstream = Some((BufReader::new(read), write));
    }
    let (read, write) = upstream.as_mut()?;
    write.write_all(request).await.ok()?;
    match read_message(read).await {
        Ok(Some(response)) => Some(response),
        _ => {
            *upstream = None;
            None
        }
    }
}
