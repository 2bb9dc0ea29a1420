//! The macros that run a suite's tests once per backend. They expand in the test crate, so
//! `#[cfg(feature = "server-tests")]` in them is that crate's feature: the root package's,
//! which scripts/test turns on after starting the servers. The tests are `#[tokio::test]`s on
//! the test crate's own `tokio` (with the `macros` and `rt-multi-thread` features).

/// Runs the listed tests of a suite module once per backend: `embedded` and `embedded_file`
/// always, `moto` and `dynalite` with the `server-tests` feature. Each test is `async fn(TestBackend)`.
#[macro_export]
macro_rules! on_every_backend {
    ($suite:ident: $($test:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::TestBackend::Embedded).await
                }
            )+
        }
        mod embedded_file {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::TestBackend::EmbeddedFile).await
                }
            )+
        }
        $crate::on_every_server! { $suite: $($test),+ }
    };
}

/// Runs a test body on each DynamoDB server (with the `server-tests` feature).
#[macro_export]
macro_rules! on_every_server {
    ($suite:ident: $($test:ident),+ $(,)?) => {
        #[cfg(feature = "server-tests")]
        mod moto {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::TestBackend::Moto).await
                }
            )+
        }
        #[cfg(feature = "server-tests")]
        mod dynalite {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::TestBackend::Dynalite).await
                }
            )+
        }
    };
}
