//! The command line: connection options (accepted before or after the command), output
//! options, and the commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use dynamorator::Ttl;

use crate::numbers::{at_least_one, compress_threshold, zstd_level};
use crate::ttl_text::parse_ttl;

const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  get, info, ttl, exists, expire: the key is absent (get, ttl, exists, expire: or expired)
  2  error: bad arguments, an unreachable table, a failed request, an unreadable file
  3  done, but some items could not be read or written (each reported on stderr)";

/// Reads, writes, lists, exports, imports, purges and measures a dynamorator table, on
/// DynamoDB or the embedded file.
#[derive(Debug, Parser)]
#[command(name = "dynamorator", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub connection: Connection,

    #[command(flatten)]
    pub output: OutputOptions,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the table is: the library's options, from flags or the environment.
#[derive(Debug, Args)]
pub struct Connection {
    /// The DynamoDB table.
    #[arg(long, global = true, env = "DYNAMORATOR_TABLE", value_name = "NAME")]
    pub table: Option<String>,

    /// The AWS region (default: the standard chain: AWS_REGION, the profile).
    #[arg(long, global = true, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// The AWS profile for credentials and region, from ~/.aws/config and ~/.aws/credentials
    /// (default: the standard chain).
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// A DynamoDB-compatible endpoint, e.g. http://127.0.0.1:8000.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// The embedded backend's file instead of a DynamoDB table (an app may have it open at
    /// the same time: the file is shared by every process on the machine).
    #[arg(
        long,
        global = true,
        env = "DYNAMORATOR_EMBEDDED_FILE",
        value_name = "PATH"
    )]
    pub embedded_file: Option<PathBuf>,

    /// Create the table (or the embedded file) when missing; by default a missing one is an
    /// error.
    #[arg(long, global = true)]
    pub create: bool,

    /// Gzip values written by put and import whose JSON is longer than --compress-threshold.
    #[arg(long, global = true)]
    pub compress: bool,

    /// Compress only JSON text longer than this many bytes.
    #[arg(long, global = true, default_value_t = 1024, value_name = "BYTES",
          allow_negative_numbers = true, value_parser = compress_threshold)]
    pub compress_threshold: usize,

    /// Compress values written by put and import with zstd instead of gzip (implies
    /// --compress); the Python package 0.1.7 reads zstd items as misses.
    #[arg(long, global = true)]
    pub zstd: bool,

    /// zstd's level, 1 (fastest) to 19 (smallest), up to 22 (implies --zstd).
    #[arg(
        long,
        global = true,
        value_name = "LEVEL",
        allow_negative_numbers = true,
        value_parser = zstd_level
    )]
    pub zstd_level: Option<i32>,

    /// Store values put or imported that are too large for one DynamoDB item (400 KB) as parts
    /// and a head; the Python package 0.1.7 reads such values as misses.
    #[arg(long, global = true)]
    pub split: bool,
}

impl Connection {
    /// The table, unless none is given (an empty `DYNAMORATOR_TABLE=` unsets an inherited one).
    pub fn table(&self) -> Option<&str> {
        self.table.as_deref().filter(|name| !name.is_empty())
    }

    /// The embedded file, unless none is given (an empty value counts as none).
    pub fn embedded_file(&self) -> Option<&std::path::Path> {
        self.embedded_file
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, Args)]
pub struct OutputOptions {
    /// Machine-readable output: one JSON object (export: JSON lines).
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress bars and no summaries on stderr (problems are still reported).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// Which items a scanning command reads.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Only keys starting with this.
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,

    /// Parallel scan segments (DynamoDB; the embedded file reads in one).
    #[arg(long, default_value_t = 4, value_name = "N", allow_negative_numbers = true,
          value_parser = at_least_one::<u32>)]
    pub segments: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prints the value under KEY as pretty JSON (--json: compact); exit 1 when absent or
    /// expired.
    Get { key: String },

    /// Shows how KEY is stored: size, compression, created and expiry times; exit 1 when
    /// absent.
    Info { key: String },

    /// Stores JSON under KEY for --ttl: VALUE as given, or read from --file, or from stdin
    /// (VALUE `-` or none).
    #[command(after_help = "Examples:
  dynamorator put user:1 --ttl 7d '{\"name\": \"Alice\"}'
  dynamorator put report --ttl 30d --file report.json
  echo '[1, 2]' | dynamorator put list --ttl 1h")]
    Put {
        key: String,
        /// The JSON value (a string is quoted: '"text"'); `-` or none reads stdin.
        #[arg(allow_hyphen_values = true)]
        value: Option<String>,
        /// How long to keep it: a number and a unit, s, m, h, d or w (90s, 30m, 12h, 7d, 1.5d).
        #[arg(long, value_parser = parse_ttl, allow_hyphen_values = true)]
        ttl: Ttl,
        /// Read the JSON from this file instead (`-`: stdin).
        #[arg(long, short, value_name = "FILE", conflicts_with = "value")]
        file: Option<PathBuf>,
    },

    /// Deletes the keys (absent keys are not an error) and says how many held a live value;
    /// the parts of split values go with them.
    Delete {
        #[arg(required = true)]
        keys: Vec<String>,
    },

    /// Lists the keys of live items, in the table's order; --after resumes a listing.
    Keys {
        /// Only keys starting with this.
        #[arg(long, value_name = "P")]
        prefix: Option<String>,
        /// At most this many keys; the last one listed is the cursor for --after (with
        /// --json: `last_key`, null at the end).
        #[arg(long, value_name = "N", allow_negative_numbers = true,
              value_parser = at_least_one::<u64>)]
        limit: Option<u64>,
        /// Start after this key (the `last_key` of an earlier listing).
        #[arg(long, value_name = "KEY")]
        after: Option<String>,
    },

    /// Shows how long the value under KEY has left; exit 1 when absent or expired.
    Ttl { key: String },

    /// Gives the value under KEY a new TTL from now without rewriting it; exit 1 when absent
    /// or expired.
    Expire {
        key: String,
        /// The new TTL: a number and a unit, s, m, h, d or w (90s, 30m, 12h, 7d, 1.5d).
        #[arg(long, value_parser = parse_ttl, allow_hyphen_values = true)]
        ttl: Ttl,
    },

    /// Exit 0 when KEY holds a live value, 1 when it is absent or expired (prints true or
    /// false).
    Exists { key: String },

    /// Writes every live item as a JSON line (key, decoded value, ttl, created_at) to stdout.
    Export {
        #[command(flatten)]
        scan: ScanArgs,
        /// Also export items that have expired but are not deleted yet.
        #[arg(long)]
        include_expired: bool,
    },

    /// Writes the items of an export (FILE, or stdin: `-` or nothing), keeping their expiry
    /// and each one's encoding (json, gzip or zstd) as exported.
    Import {
        file: Option<PathBuf>,
        /// Also write items that have already expired (the embedded file drops items a day
        /// after their expiry).
        #[arg(long)]
        include_expired: bool,
        /// Encode every item as --compress, --zstd and --zstd-level say, not as exported.
        #[arg(long)]
        reencode: bool,
    },

    /// Deletes items whose ttl has passed, for servers and tables without TTL deletion.
    PurgeExpired {
        #[command(flatten)]
        scan: ScanArgs,
        /// Count what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
    },

    /// Counts and measures the items: sizes, compression, expiry, TTLs, the largest.
    Stats {
        #[command(flatten)]
        scan: ScanArgs,
        /// Also draw the item size histogram as an SVG file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// How many of the largest items to list.
        #[arg(long, default_value_t = 10, value_name = "N", allow_negative_numbers = true,
              value_parser = crate::numbers::whole::<usize>)]
        top: usize,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connection_options_go_before_or_after_the_command() {
        for line in [
            ["dynamorator", "--table", "t1", "get", "k"],
            ["dynamorator", "get", "--table", "t1", "k"],
            ["dynamorator", "get", "k", "--table", "t1"],
        ] {
            let cli = Cli::try_parse_from(line).expect("parses");
            assert_eq!(cli.connection.table.as_deref(), Some("t1"));
        }
    }
}
