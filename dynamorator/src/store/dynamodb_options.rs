//! [`DynamoDbOptions`]: where a DynamoDB table is, how the SDK reaches it, and table set-up;
//! settings of a store on a table only, kept apart so an embedded store cannot take them.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryMode};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use crate::Error;
use crate::backend::dynamodb::{DynamoDbBackend, ensure_table};

/// The settings of a store on a DynamoDB table (the `dynamodb` feature, on by default): where
/// the table is, how the SDK reaches it, and what `build` sets up.
///
/// Set them once with [`StoreBuilder::dynamodb`](crate::StoreBuilder::dynamodb); the
/// builder's one-setting methods (`region`, `consistent_reads`, …) edit the same value. A
/// store built with [`embedded`](crate::StoreBuilder::embedded),
/// [`embedded_file`](crate::StoreBuilder::embedded_file) or
/// [`disabled`](crate::StoreBuilder::disabled) has no use for them: `build` refuses one whose
/// DynamoDB settings are not the defaults, with an
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming the setting, rather than
/// ignore it. ([`maybe_table(None)`](crate::StoreBuilder::maybe_table) takes them: they are
/// for the table it names when there is one.)
///
/// | setting | default |
/// |---|---|
/// | [`region`](DynamoDbOptions::region), [`profile`](DynamoDbOptions::profile), [`endpoint_url`](DynamoDbOptions::endpoint_url) | the standard chain |
/// | [`sdk_config`](DynamoDbOptions::sdk_config), [`client`](DynamoDbOptions::client) | none: loaded from the above |
/// | [`consistent_reads`](DynamoDbOptions::consistent_reads), [`consumed_capacity`](DynamoDbOptions::consumed_capacity) | off, off |
/// | [`create_table`](DynamoDbOptions::create_table), [`table_wait`](DynamoDbOptions::table_wait) | on, 5 minutes |
/// | [`retry_mode`](DynamoDbOptions::retry_mode), [`max_attempts`](DynamoDbOptions::max_attempts) | standard, 3 |
/// | [`connect_timeout`](DynamoDbOptions::connect_timeout), [`attempt_timeout`](DynamoDbOptions::attempt_timeout), [`operation_timeout`](DynamoDbOptions::operation_timeout) | 2 s, 5 s, 20 s |
///
/// ```no_run
/// # async fn demo() -> Result<(), dynamorator::Error> {
/// use std::time::Duration;
/// use dynamorator::{DynamoDbOptions, Store};
///
/// let aws = DynamoDbOptions::new()
///     .region("eu-west-1")
///     .create_table(false)
///     .operation_timeout(Duration::from_secs(5));
/// let store = Store::builder().table("my-data-store").dynamodb(aws).build().await?;
/// # Ok(()) }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
#[derive(Debug, Clone)]
pub struct DynamoDbOptions {
    region: Option<String>,
    profile: Option<String>,
    endpoint_url: Option<String>,
    sdk_config: Option<SdkConfig>,
    client: Option<Client>,
    consistent_reads: bool,
    consumed_capacity: bool,
    create_table: bool,
    table_wait: Duration,
    retry_mode: RetryMode,
    max_attempts: u32,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    operation_timeout: Duration,
}

impl Default for DynamoDbOptions {
    fn default() -> Self {
        DynamoDbOptions {
            region: None,
            profile: None,
            endpoint_url: None,
            sdk_config: None,
            client: None,
            consistent_reads: false,
            consumed_capacity: false,
            create_table: true,
            table_wait: Duration::from_secs(300),
            retry_mode: RetryMode::Standard,
            max_attempts: 3,
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(20),
        }
    }
}

impl DynamoDbOptions {
    /// The defaults (see the table above); the same as [`DynamoDbOptions::default`].
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new();
    /// ```
    pub fn new() -> Self {
        DynamoDbOptions::default()
    }

    /// The AWS region. Default: the standard chain (`AWS_REGION`, profile, …).
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().region("eu-west-1");
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The named profile of `~/.aws/config` and `~/.aws/credentials` to take credentials and
    /// region from. Default: the standard chain (`AWS_PROFILE`, else `default`). Not used with
    /// [`sdk_config`](DynamoDbOptions::sdk_config) or [`client`](DynamoDbOptions::client),
    /// which bring their own.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().profile("staging");
    /// ```
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// The endpoint URL, for DynamoDB-compatible servers and VPC endpoints. Default: the
    /// standard chain, which honours `AWS_ENDPOINT_URL`.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().endpoint_url("http://127.0.0.1:8000");
    /// ```
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Starts from an `aws-config` configuration you loaded yourself (credentials, region,
    /// endpoint); the timeout and retry settings still apply.
    ///
    /// ```
    /// # async fn demo() {
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let options = dynamorator::DynamoDbOptions::new().sdk_config(config);
    /// # }
    /// ```
    pub fn sdk_config(mut self, config: SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }

    /// Uses this DynamoDB client as it is: the region, endpoint, retry and timeout settings
    /// are then ignored. Share one client between stores to share its connection pool.
    ///
    /// ```
    /// # async fn demo() {
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let client = aws_sdk_dynamodb::Client::new(&config);
    /// let options = dynamorator::DynamoDbOptions::new().client(client);
    /// # }
    /// ```
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Strongly consistent reads (twice the read cost). Default: off, eventually consistent,
    /// like the Python package.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().consistent_reads(true);
    /// ```
    pub fn consistent_reads(mut self, enabled: bool) -> Self {
        self.consistent_reads = enabled;
        self
    }

    /// Asks DynamoDB, on every item request, for the capacity units it consumed
    /// (`ReturnConsumedCapacity: TOTAL`), and records them: on the request's
    /// `dynamorator.store` span (`dynamorator.capacity_units`) and, with the `metrics`
    /// feature, in the `dynamorator_store_read_capacity_units` and
    /// `dynamorator_store_write_capacity_units` histograms (README, "Operating it"). It
    /// changes the requests (larger responses), hence off by default.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().consumed_capacity(true);
    /// ```
    pub fn consumed_capacity(mut self, enabled: bool) -> Self {
        self.consumed_capacity = enabled;
        self
    }

    /// Whether `build` checks for the table and creates it when missing. Turn it off to run
    /// with only the item permissions (see the README's least-privilege policy). Default: on.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().create_table(false);
    /// ```
    pub fn create_table(mut self, enabled: bool) -> Self {
        self.create_table = enabled;
        self
    }

    /// How long `build` waits for a table to become ACTIVE. Default: 5 minutes.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().table_wait(std::time::Duration::from_secs(60));
    /// ```
    pub fn table_wait(mut self, limit: Duration) -> Self {
        self.table_wait = limit;
        self
    }

    /// The SDK's retry mode for failed requests (throttling, 5xx, transient network errors).
    /// Default: [`RetryMode::Standard`]; [`RetryMode::Adaptive`] also rate-limits the client
    /// when DynamoDB throttles.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().retry_mode(dynamorator::RetryMode::Adaptive);
    /// ```
    pub fn retry_mode(mut self, mode: RetryMode) -> Self {
        self.retry_mode = mode;
        self
    }

    /// The SDK's attempts per request, the first included. Default: 3. `1` disables retries;
    /// `0` is refused at build.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().max_attempts(5);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How long to wait for a TCP/TLS connection. Default: 2 s.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().connect_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt of a request may take. Default: 5 s.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().attempt_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How long a request may take, all its retries included. Default: 20 s.
    ///
    /// ```
    /// let options = dynamorator::DynamoDbOptions::new().operation_timeout(std::time::Duration::from_secs(10));
    /// ```
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The name of the first setting changed from its default, if any: what a store without
    /// a table would silently ignore.
    pub(crate) fn first_changed(&self) -> Option<&'static str> {
        let default = DynamoDbOptions::default();
        let changed = [
            ("region", self.region.is_some()),
            ("profile", self.profile.is_some()),
            ("endpoint_url", self.endpoint_url.is_some()),
            ("sdk_config", self.sdk_config.is_some()),
            ("client", self.client.is_some()),
            (
                "consistent_reads",
                self.consistent_reads != default.consistent_reads,
            ),
            (
                "consumed_capacity",
                self.consumed_capacity != default.consumed_capacity,
            ),
            ("create_table", self.create_table != default.create_table),
            ("table_wait", self.table_wait != default.table_wait),
            ("retry_mode", self.retry_mode != default.retry_mode),
            ("max_attempts", self.max_attempts != default.max_attempts),
            (
                "connect_timeout",
                self.connect_timeout != default.connect_timeout,
            ),
            (
                "attempt_timeout",
                self.attempt_timeout != default.attempt_timeout,
            ),
            (
                "operation_timeout",
                self.operation_timeout != default.operation_timeout,
            ),
        ];
        changed
            .into_iter()
            .find_map(|(name, changed)| changed.then_some(name))
    }

    /// Refuses settings DynamoDB would refuse, naming the cause.
    pub(crate) fn validate(&self, table: &str) -> Result<(), Error> {
        let invalid = |reason: &str| {
            Err(Error::InvalidConfig {
                reason: reason.to_owned(),
            })
        };
        // DynamoDB's own rule, checked here so the error names the cause.
        let valid_chars = table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !(3..=255).contains(&table.len()) || !valid_chars {
            return invalid(
                "table name must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'",
            );
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts must be at least 1");
        }
        Ok(())
    }

    /// The backend for `table`: a client from these settings, and the table set up unless
    /// turned off.
    pub(crate) async fn backend(&self, table: &str) -> Result<DynamoDbBackend, Error> {
        let client = self.make_client().await?;
        if self.create_table {
            ensure_table(&client, table, self.table_wait).await?;
        }
        Ok(
            DynamoDbBackend::new(client, table.to_owned(), self.consistent_reads)
                .with_consumed_capacity(self.consumed_capacity),
        )
    }

    /// The given client, or one made from these settings.
    async fn make_client(&self) -> Result<Client, Error> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let sdk_config = match &self.sdk_config {
            Some(config) => config.clone(),
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = &self.region {
                    loader = loader.region(Region::new(region.clone()));
                }
                if let Some(profile) = &self.profile {
                    loader = loader.profile_name(profile);
                }
                loader.load().await
            }
        };
        let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .retry_config(
                RetryConfig::standard()
                    .with_retry_mode(self.retry_mode)
                    .with_max_attempts(self.max_attempts),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            );
        if let Some(region) = &self.region {
            config = config.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        let config = config.build();
        if config.region().is_none() {
            return Err(Error::InvalidConfig {
                reason:
                    "no AWS region: set AWS_REGION (or a profile's region), or call .region(..)"
                        .to_owned(),
            });
        }
        Ok(Client::from_conf(config))
    }
}
