//! The command line: connection options (accepted before or after the command), output
//! options, and the commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use dynamorator::Ttl;

use crate::ttl_text::parse_ttl;

const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  get, info: the key is absent (get: or expired)
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
    #[arg(long, global = true, default_value_t = 1024, value_name = "BYTES")]
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
        allow_negative_numbers = true
    )]
    pub zstd_level: Option<i32>,

    /// Store values put or imported that are too large for one DynamoDB item (400 KB) as parts
    /// and a head; the Python package 0.1.7 reads such values as misses.
    #[arg(long, global = true)]
    pub split: bool,
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
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
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

    /// Stores the JSON in FILE (or stdin: `-` or nothing) under KEY for --ttl.
    Put {
        key: String,
        /// How long to keep it: a number and a unit, s, m, h, d or w (90s, 30m, 12h, 7d, 1.5d).
        #[arg(long, value_parser = parse_ttl)]
        ttl: Ttl,
        /// A file of JSON; `-` or nothing reads stdin.
        file: Option<PathBuf>,
    },

    /// Deletes the keys (absent keys are not an error).
    Delete {
        #[arg(required = true)]
        keys: Vec<String>,
    },

    /// Lists the keys of live items.
    Keys {
        /// Only keys starting with this.
        #[arg(long, value_name = "P")]
        prefix: Option<String>,
        /// At most this many keys.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },

    /// Writes every live item as a JSON line (key, decoded value, ttl, created_at) to stdout.
    Export {
        #[command(flatten)]
        scan: ScanArgs,
        /// Also export items that have expired but are not deleted yet.
        #[arg(long)]
        include_expired: bool,
    },

    /// Writes the items of an export (FILE, or stdin: `-` or nothing), keeping their expiry.
    Import {
        file: Option<PathBuf>,
        /// Also write items that have already expired.
        #[arg(long)]
        include_expired: bool,
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
        #[arg(long, default_value_t = 10, value_name = "N")]
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
