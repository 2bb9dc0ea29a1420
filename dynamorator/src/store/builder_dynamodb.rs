//! The DynamoDB half of [`StoreBuilder`] (the `dynamodb` feature): the table, its
//! [`DynamoDbOptions`], and one-setting shorthands for them.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryMode;

use super::StoreBuilder;
use super::builder::Target;
use super::dynamodb_options::DynamoDbOptions;

/// DynamoDB settings (the `dynamodb` feature, on by default).
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
impl StoreBuilder {
    /// The DynamoDB table to use (created at build when missing, unless
    /// [`create_table(false)`](StoreBuilder::create_table)).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder().table("my-data-store").build().await?;
    /// # Ok(()) }
    /// ```
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.target = Target::Table(name.into());
        self
    }

    /// The table to use, or `None` for a disabled store (writes do nothing, reads find
    /// nothing): handy with an environment variable. The builder's DynamoDB settings are
    /// accepted either way (they are for the table when one is named).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder()
    ///     .maybe_table(std::env::var("NO_SUCH_VARIABLE_SET").ok())
    ///     .build()
    ///     .await?;
    /// assert!(!store.is_enabled());
    /// # Ok(()) }
    /// ```
    pub fn maybe_table(mut self, name: Option<impl Into<String>>) -> Self {
        self.target = name.map_or(Target::NoTable, |name| Target::Table(name.into()));
        self
    }

    /// The store's DynamoDB settings, whole (they replace any set before); see
    /// [`DynamoDbOptions`]. Only for a store on a table: `build` refuses an
    /// [`embedded`](StoreBuilder::embedded), [`embedded_file`](StoreBuilder::embedded_file) or
    /// [`disabled`](StoreBuilder::disabled) store whose DynamoDB settings are not the defaults.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use dynamorator::{DynamoDbOptions, Error, Store};
    ///
    /// let builder = Store::builder().table("t1").dynamodb(DynamoDbOptions::new().region("eu-west-1"));
    /// let embedded = Store::builder().embedded().dynamodb(DynamoDbOptions::new().consistent_reads(true));
    /// assert!(matches!(embedded.build().await, Err(Error::InvalidConfig { .. })));
    /// # }
    /// ```
    pub fn dynamodb(mut self, options: DynamoDbOptions) -> Self {
        self.dynamodb = options;
        self
    }

    /// Shorthand for [`DynamoDbOptions::region`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").region("eu-west-1");
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.dynamodb = self.dynamodb.region(region);
        self
    }

    /// Shorthand for [`DynamoDbOptions::profile`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").profile("staging");
    /// ```
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.dynamodb = self.dynamodb.profile(name);
        self
    }

    /// Shorthand for [`DynamoDbOptions::endpoint_url`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").endpoint_url("http://127.0.0.1:8000");
    /// ```
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.dynamodb = self.dynamodb.endpoint_url(url);
        self
    }

    /// Shorthand for [`DynamoDbOptions::sdk_config`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// # async fn demo() {
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let builder = dynamorator::Store::builder().table("t1").sdk_config(config);
    /// # }
    /// ```
    pub fn sdk_config(mut self, config: SdkConfig) -> Self {
        self.dynamodb = self.dynamodb.sdk_config(config);
        self
    }

    /// Shorthand for [`DynamoDbOptions::client`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// # async fn demo() {
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let client = aws_sdk_dynamodb::Client::new(&config);
    /// let builder = dynamorator::Store::builder().table("t1").client(client);
    /// # }
    /// ```
    pub fn client(mut self, client: Client) -> Self {
        self.dynamodb = self.dynamodb.client(client);
        self
    }

    /// Shorthand for [`DynamoDbOptions::consistent_reads`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").consistent_reads(true);
    /// ```
    pub fn consistent_reads(mut self, enabled: bool) -> Self {
        self.dynamodb = self.dynamodb.consistent_reads(enabled);
        self
    }

    /// Shorthand for [`DynamoDbOptions::consumed_capacity`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").consumed_capacity(true);
    /// ```
    pub fn consumed_capacity(mut self, enabled: bool) -> Self {
        self.dynamodb = self.dynamodb.consumed_capacity(enabled);
        self
    }

    /// Shorthand for [`DynamoDbOptions::create_table`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").create_table(false);
    /// ```
    pub fn create_table(mut self, enabled: bool) -> Self {
        self.dynamodb = self.dynamodb.create_table(enabled);
        self
    }

    /// Shorthand for [`DynamoDbOptions::table_wait`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").table_wait(std::time::Duration::from_secs(60));
    /// ```
    pub fn table_wait(mut self, limit: Duration) -> Self {
        self.dynamodb = self.dynamodb.table_wait(limit);
        self
    }

    /// Shorthand for [`DynamoDbOptions::retry_mode`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").retry_mode(dynamorator::RetryMode::Adaptive);
    /// ```
    pub fn retry_mode(mut self, mode: RetryMode) -> Self {
        self.dynamodb = self.dynamodb.retry_mode(mode);
        self
    }

    /// Shorthand for [`DynamoDbOptions::max_attempts`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").max_attempts(5);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.dynamodb = self.dynamodb.max_attempts(attempts);
        self
    }

    /// Shorthand for [`DynamoDbOptions::connect_timeout`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").connect_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.dynamodb = self.dynamodb.connect_timeout(timeout);
        self
    }

    /// Shorthand for [`DynamoDbOptions::attempt_timeout`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").attempt_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.dynamodb = self.dynamodb.attempt_timeout(timeout);
        self
    }

    /// Shorthand for [`DynamoDbOptions::operation_timeout`] on this builder's DynamoDB settings.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").operation_timeout(std::time::Duration::from_secs(10));
    /// ```
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.dynamodb = self.dynamodb.operation_timeout(timeout);
        self
    }
}
