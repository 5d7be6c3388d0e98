//! Command-line arguments and the dispatch to each command.

mod audit;
mod backup;
mod calendar;
mod check;
mod graph;
mod guide;
mod migrate;
mod simulate;

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
    /// Write a bundle's 办事指南 (service guide), generated from the bundle itself.
    Guide {
        /// A bundle YAML file.
        file: PathBuf,
        /// HTML (one page, with an A4 print style sheet) or Markdown.
        #[arg(long, value_enum, default_value_t = GuideFormatArg::Html)]
        format: GuideFormatArg,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of the bundle DSL (for yaml-language-server).
    Schema,
    /// Run the HTTP service (docs/service.md; config keys in yijian.example.yaml).
    Serve {
        /// Configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Database URL: sqlite://FILE?mode=rwc (default sqlite://yijian.db?mode=rwc) or
        /// postgres://USER:PASSWORD@HOST/DB.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// Folder of bundles deployed at start (repeatable; default definitions/catalog).
        #[arg(long = "bundles", value_name = "DIR")]
        bundles: Vec<PathBuf>,
    },
    /// Dry-run one case through a script of timed steps and print its timeline.
    Simulate {
        /// The script (YAML): a bundle and timed steps (see docs/simulate.md).
        script: PathBuf,
        /// Folder of bundles a script's `bundle: <id>` is looked up in (default:
        /// definitions/catalog).
        #[arg(long, value_name = "DIR")]
        bundles: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = SimulateFormat::Table)]
        format: SimulateFormat,
        /// A folder of extra calendar files (a new year, a regional calendar).
        #[arg(long, value_name = "DIR")]
        calendars: Option<PathBuf>,
    },
    /// Working-day calendars (时限 arithmetic).
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// The tamper-evident audit trail (全程留痕).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Move running cases to another version of their bundle (a dry run unless --run).
    Migrate {
        /// The bundle id.
        bundle: String,
        /// The version the cases run on.
        #[arg(long = "from", value_name = "N")]
        from: u32,
        /// The version to move them to.
        #[arg(long = "to", value_name = "M")]
        to: u32,
        /// Only this case (repeatable); default: every open case of the bundle on --from.
        #[arg(long = "case", value_name = "CASE_NO")]
        cases: Vec<String>,
        /// A renamed task, OLD=NEW (repeatable).
        #[arg(long = "map", value_name = "OLD=NEW")]
        maps: Vec<String>,
        /// Why (recorded on each case).
        #[arg(long)]
        reason: Option<String>,
        /// Migrate for real (default: a dry run that changes nothing).
        #[arg(long)]
        run: bool,
        /// The store.
        #[arg(long, default_value = "sqlite://yijian.db?mode=rw")]
        db: String,
        /// Deploy this bundle file (the new version) first.
        #[arg(long, value_name = "FILE")]
        deploy: Option<PathBuf>,
        /// A folder of extra calendar files.
        #[arg(long, value_name = "DIR")]
        calendars: Option<PathBuf>,
        /// One JSON plan per line instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Copy a SQLite store to a new file while it serves (PostgreSQL: use pg_dump).
    Backup {
        /// The new file.
        path: PathBuf,
        /// The store.
        #[arg(long, default_value = "sqlite://yijian.db?mode=rw")]
        db: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute every event hash chain (or one case's) and name the first broken link.
    Verify {
        /// A case number; all cases when absent.
        case: Option<String>,
        /// The store.
        #[arg(long, default_value = "sqlite://yijian.db?mode=rw")]
        db: String,
    },
}

#[derive(Debug, Subcommand)]
enum CalendarCommand {
    /// When does a limit started on DATE end? e.g. `calendar add 2026-09-30 1wd`.
    Add {
        /// The start day (acceptance), YYYY-MM-DD; it is not counted.
        date: String,
        /// The limit: `Nwd` working days or `Nd` calendar days.
        duration: String,
        /// The calendar id.
        #[arg(long, default_value = "cn")]
        calendar: String,
        /// A folder of extra calendar files (a new year, a regional calendar).
        #[arg(long, value_name = "DIR")]
        calendars: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SimulateFormat {
    /// A readable timeline and task table.
    Table,
    /// One JSON document (docs/simulate.md).
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    /// Source snippets with a caret under each finding.
    Human,
    /// One JSON document, for editors and CI.
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GuideFormatArg {
    /// One HTML page.
    Html,
    /// Markdown.
    Markdown,
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
        Command::Guide { file, format, out } => guide::run(
            &file,
            matches!(format, GuideFormatArg::Html),
            out.as_deref(),
        ),
        Command::Schema => {
            print!("{}", yijian::definitions::schema_text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            config,
            listen,
            db,
            bundles,
        } => {
            let file = match &config {
                Some(path) => yijian::serve::Config::load(path)?,
                None => yijian::serve::Config::default(),
            };
            let config = file.with(yijian::serve::Overrides {
                listen,
                database: db,
                bundles,
            });
            let workdir = std::env::current_dir()?;
            let shutdown = yijian::serve::startup::shutdown_signal();
            tokio::runtime::Runtime::new()?
                .block_on(yijian::serve::startup::run(config, &workdir, shutdown))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            script,
            bundles,
            format,
            calendars,
        } => simulate::run(
            &script,
            bundles.as_deref(),
            calendars.as_deref(),
            matches!(format, SimulateFormat::Json),
        ),
        Command::Calendar {
            command:
                CalendarCommand::Add {
                    date,
                    duration,
                    calendar,
                    calendars,
                },
        } => calendar::add(&date, &duration, &calendar, calendars.as_deref()),
        Command::Audit {
            command: AuditCommand::Verify { case, db },
        } => audit::verify(&db, case.as_deref()),
        Command::Backup { path, db } => backup::run(&db, &path),
        Command::Migrate {
            bundle,
            from,
            to,
            cases,
            maps,
            reason,
            run,
            db,
            deploy,
            calendars,
            json,
        } => migrate::run(&migrate::Args {
            bundle: &bundle,
            from,
            to,
            cases: &cases,
            maps: &maps,
            reason: reason.as_deref(),
            run,
            db: &db,
            deploy: deploy.as_deref(),
            calendars: calendars.as_deref(),
            json,
        }),
    }
}
