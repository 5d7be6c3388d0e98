//! Command-line arguments and the dispatch to each command.

mod check;
mod graph;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// yijian (一件): a workflow engine for "一件事" bundled government approvals.
#[derive(Debug, Parser)]
#[command(name = "yijian", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check bundle files (or folders of them) and report every problem.
    Check {
        /// Bundle YAML files, or folders searched for *.yaml / *.yml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Calendar ids the deployment knows (default: cn).
        #[arg(long = "calendar", value_name = "ID")]
        calendars: Vec<String>,
    },
    /// Draw a bundle's task graph.
    Graph {
        /// A bundle YAML file.
        file: PathBuf,
        /// Picture format.
        #[arg(long, value_enum, default_value_t = GraphFormatArg::Mermaid)]
        format: GraphFormatArg,
    },
    /// Print the JSON Schema of the bundle DSL (for yaml-language-server).
    Schema,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    /// Source snippets with a caret under each finding.
    Human,
    /// One JSON document, for editors and CI.
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GraphFormatArg {
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Runs a parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
            calendars,
        } => check::run(
            &paths,
            matches!(format, OutputFormat::Json),
            deny_warnings,
            calendars,
        ),
        Command::Graph { file, format } => graph::run(
            &file,
            match format {
                GraphFormatArg::Mermaid => yijian::definitions::GraphFormat::Mermaid,
                GraphFormatArg::Dot => yijian::definitions::GraphFormat::Dot,
            },
        ),
        Command::Schema => {
            print!("{}", yijian::definitions::schema_text());
            Ok(ExitCode::SUCCESS)
        }
    }
}
